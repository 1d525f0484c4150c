"""Blueprints: thin routes that parse input, call one service, render."""
