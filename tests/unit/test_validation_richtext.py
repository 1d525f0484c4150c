"""sanitize_html: staff-written course descriptions reduced to a safe subset."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.validation import FieldError, sanitize_html
from app.validation.richtext import ALLOWED_TAGS

REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize("html", [
    "<p>Learn <strong>CPR</strong> and <em>recovery position</em>.</p>",
    "<ul><li>One</li><li>Two</li></ul>",
    "<ol><li>First</li></ol>",
    "<h3>Course</h3><h4>Day 1</h4>",
    "<blockquote>Excellent trainer</blockquote>",
    "Line one<br>Line two",
])
def test_allowed_tags_are_kept(html):
    assert sanitize_html(html) == html


@pytest.mark.parametrize("html, expected", [
    ("<h1>Big</h1>", "Big"),
    ("<div><span>text</span></div>", "text"),
    ("<p class='x' style='color:red' id='y'>text</p>", "<p>text</p>"),
    ("<img src='cpr.png' alt='CPR'>", ""),
    ("<table><tr><td>cell</td></tr></table>", "cell"),
    ("<!-- comment -->text", "text"),
])
def test_other_tags_and_attributes_are_stripped_keeping_text(html, expected):
    assert sanitize_html(html).strip() == expected


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><img src=x onerror=alert(1)>',
    "<img src=x onerror=alert(1)//",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="  javascript:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<p onclick=alert(1)>x</p>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<object data=x.swf></object><embed src=x.swf>",
    "<form action=//evil><input name=x></form>",
    "<meta http-equiv=refresh content='0;url=//evil'>",
    "<base href=//evil/>",
    "<scr<script>ipt>alert(1)</script>",
])
def test_xss_payloads_leave_no_executable_markup(payload):
    out = sanitize_html(payload)
    assert "<script" not in out.lower()
    assert "javascript:" not in out.lower()
    assert_only_allowed_markup(out)


def assert_only_allowed_markup(out):
    # Text "<" is always escaped, so every "<" left in the output opens a real tag.
    for tag in re.findall(r"<[^>]*>", out):
        match = re.fullmatch(r"</?([a-z0-9]+)((?:\s[a-z]+=\"[^\"]*\")*)\s*/?>", tag)
        assert match, tag
        assert match.group(1) in ALLOWED_TAGS, tag
        for name, value in re.findall(r'\s([a-z]+)="([^"]*)"', match.group(2)):
            assert name in {"href", "title", "rel"}, tag
            if name == "href":
                assert re.match(r"(https?:|mailto:|/|#|[^:]*$)", value, re.I), tag


@pytest.mark.parametrize("html", [
    '<a href="https://example.com/cpr">CPR</a>',
    '<a href="http://example.com">x</a>',
    '<a href="mailto:training@example.com">Email us</a>',
    '<a href="/courses/7">Course</a>',
])
def test_links_with_allowed_urls_get_rel_noopener_noreferrer_nofollow(html):
    out = sanitize_html(html)
    assert REL in out
    assert out.count("<a ") == 1


def test_author_supplied_rel_and_target_are_replaced():
    out = sanitize_html('<a href="https://x.example" rel="opener" target="_blank" title="T">x</a>')
    assert out == f'<a href="https://x.example" title="T" {REL}>x</a>'


def test_link_with_a_refused_url_keeps_only_its_text():
    assert sanitize_html('<p><a href="javascript:alert(1)">click</a></p>') == "<p>click</p>"


@pytest.mark.parametrize("text", [
    "Never type javascript: into a browser",
    '<a href="https://x.example" title="javascript:alert(1)">x</a>',
    "<img src=x onerror=javascript:alert(1)//",
])
def test_inert_javascript_text_is_written_with_an_entity_colon(text):
    out = sanitize_html(text)
    assert "javascript:" not in out.lower()
    assert "javascript&#58;" in out.lower()


def test_bare_urls_are_not_turned_into_links():
    text = "See https://example.com or www.example.com"
    assert sanitize_html(text) == text


def test_script_text_survives_as_harmless_escaped_text():
    assert sanitize_html("<script>alert(1)</script>") == "alert(1)"
    assert sanitize_html("1 < 2 & 3 > 2") == "1 &lt; 2 &amp; 3 &gt; 2"


@pytest.mark.parametrize("text", [
    "<p>李小龍 教練</p>", "<p>مرحبا</p>", "<p>Καλημέρα</p>", "<p>Zażółć gęślą jaźń</p>",
    "<p>First aid ⛑️ 🚑</p>",
])
def test_other_scripts_and_emoji_are_kept(text):
    assert sanitize_html(text) == text


@pytest.mark.parametrize("char", ["\x00", "\u200b", "\u202e", "\u2066", "\ufeff"])
def test_nul_zero_width_and_bidi_characters_are_removed(char):
    assert sanitize_html(f"<p>CP{char}R</p>") == "<p>CPR</p>"


@pytest.mark.parametrize("value", [None, ""])
def test_nothing_sanitises_to_an_empty_string(value):
    assert sanitize_html(value) == ""


@pytest.mark.parametrize("value", [42, ["<p>"], {"html": "<p>"}, b"<p>x</p>"])
def test_wrong_type_is_a_programming_error(value):
    with pytest.raises(TypeError):
        sanitize_html(value)


def test_ten_thousand_characters_are_fine():
    html = "<p>" + "a" * 10_000 + "</p>"
    assert sanitize_html(html) == html


def test_a_megabyte_is_refused_before_parsing():
    with pytest.raises(FieldError) as info:
        sanitize_html("<p>" * 350_000)
    assert info.value.message == "The text must be 100,000 characters or fewer."


# --- property -------------------------------------------------------------------

_TAGS = ["a", "p", "script", "SCRIPT", "img", "iframe", "style", "svg", "math", "strong",
         "scr<script>ipt", "noscript", "object", "base", "form"]
_ATTRS = ["href", "src", "onerror", "onclick", "style", "action", "formaction",
          "xlink:href", "data", "HREF"]
_URLS = ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
         "\tjavascript:alert(1)", "java\nscript:alert(1)", "&#106;avascript:alert(1)",
         "javascript&colon;alert(1)", "url(javascript:alert(1))", "https://ok.example",
         "javascript:javascript:alert(1)"]
_TEXT = st.text(max_size=20) | st.sampled_from(["javascript:", "JAVASCRIPT:alert(1)", "<scr"])


@st.composite
def hostile_fragment(draw):
    kind = draw(st.sampled_from(["open", "close", "text", "quote"]))
    if kind == "text":
        return draw(_TEXT)
    if kind == "quote":
        return draw(st.sampled_from(['"', "'", ">", "<", '">', "'>", "<!--", "-->"]))
    tag = draw(st.sampled_from(_TAGS))
    if kind == "close":
        return f"</{tag}>"
    attrs = draw(st.lists(st.tuples(st.sampled_from(_ATTRS), st.sampled_from(_URLS)),
                          max_size=3))
    quote = draw(st.sampled_from(['"', "'", ""]))
    rendered = "".join(f" {name}={quote}{value}{quote}" for name, value in attrs)
    return f"<{tag}{rendered}>"


@settings(deadline=None, max_examples=300)
@given(st.lists(hostile_fragment(), max_size=12).map("".join))
def test_sanitised_output_never_contains_script_tags_or_javascript_urls(html):
    out = sanitize_html(html)
    assert "<script" not in out.lower()
    assert "javascript:" not in out.lower()
    assert_only_allowed_markup(out)
