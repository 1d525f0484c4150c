"""What has been happening, for the office: the activity feed (audit and alerts), open alerts, dead-lettered deliveries and the dashboard. It reads across every domain, so it sits above them all."""
