"""Data files shipped with tokenclean (see ATTRIBUTION.md); load them with tokenclean.datasets."""
