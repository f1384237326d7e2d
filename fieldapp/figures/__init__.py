"""The yearly figures (issue 11): declared, not coded; computed from submissions and
households for a year and an area; targets per district."""
