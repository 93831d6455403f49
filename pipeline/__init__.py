"""Report pipeline for teams of information officers: inbox workbooks → store → circulars and statistics."""
