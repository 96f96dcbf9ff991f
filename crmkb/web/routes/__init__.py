"""Routers, one per concern, aggregated in crmkb.web.app."""
