"""Documents for leaders: figures → sentences and tables (context), HTML (Jinja) → PDF (WeasyPrint)."""
