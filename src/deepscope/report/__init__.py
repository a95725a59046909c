"""The self-contained HTML report of a run, and the hook other commands use to add sections
to it (``figures/sections.json``; the format is described in :mod:`deepscope.report.sections`)."""

from deepscope.report.html import render_report as render_report
from deepscope.report.html import write_report as write_report
from deepscope.report.inside import InsidePlan as InsidePlan
from deepscope.report.inside import inside_plan as inside_plan
from deepscope.report.inside import inside_the_network as inside_the_network
from deepscope.report.interpretation import interpretation_figures as interpretation_figures
from deepscope.report.sections import ReportFigure as ReportFigure
from deepscope.report.sections import ReportSection as ReportSection
from deepscope.report.sections import add_report_section as add_report_section
from deepscope.report.sections import read_sections as read_sections

__all__ = [
    "InsidePlan",
    "ReportFigure",
    "ReportSection",
    "add_report_section",
    "inside_plan",
    "inside_the_network",
    "interpretation_figures",
    "read_sections",
    "render_report",
    "write_report",
]
