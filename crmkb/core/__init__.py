"""What every layer shares, importing nothing else of crmkb: settings, files, errors."""
