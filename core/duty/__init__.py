"""Duty roster (值班表), handovers (交接班记录) and who escalations go to."""
