"""The HTML report's Jinja2 template, stylesheet and script (package data)."""
