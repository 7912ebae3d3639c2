"""tgscale dashboards and alert rules, generated as code."""
