"""专题 (special topics; "Track" in DESIGN's domain words): a matter the office follows for weeks,
defined by keyword rules, places and a time range, tagging the mentions that match."""
