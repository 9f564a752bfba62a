"""Serves plotly.js from the installed plotly package as the static file dashboard/plotly.min.js."""
from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

NAME = "dashboard/plotly.min.js"
SOURCE = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(SOURCE))
        self.storage.prefix = "dashboard"

    def check(self, **kwargs) -> list:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path != NAME:
            return [] if find_all else None
        found = str(SOURCE / "plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns):
        # Only this one file of the package's data folder (which also holds large datasets).
        yield "plotly.min.js", self.storage
