"""Plot a treatment course: response (HDSS, pain) and cumulative dose over time."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def plot_course(sessions: pd.DataFrame, title: str | None = None) -> Figure:
    """Response scores and cumulative dose by session date, from :meth:`CourseLog.sessions`."""
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    response, dose = fig.subplots(2, 1, sharex=True)
    dates = sessions["date"]
    plotted = False
    for column, label, marker in (("hdss_after", "HDSS after session", "o"),
                                  ("pain_after", "Pain after session (0-10)", "s")):
        values = sessions[column].astype("Float64").to_numpy(dtype=float, na_value=float("nan"))
        if pd.notna(values).any():
            response.plot(dates, values, marker=marker, label=label)
            plotted = True
    before = sessions["hdss_before"].dropna()
    if not before.empty:
        first = before.index[0]
        response.scatter([dates[first]], [before.iloc[0]], marker="x", color="black", zorder=3,
                         label="HDSS at baseline")
        plotted = True
    response.yaxis.set_major_locator(MaxNLocator(integer=True))
    low, high = response.get_ylim()
    response.set_ylim(min(low, 0.5), max(high, 4.5))  # the whole HDSS scale stays in view
    response.set_ylabel("score")
    response.set_title(title or "Response")
    if plotted:
        response.legend(loc="best", fontsize="small")
    else:
        response.text(0.5, 0.5, "no response score recorded", ha="center", va="center",
                      transform=response.transAxes)
    dose.bar(dates, sessions["dose[mA*min]"], width=0.6, color="#9ecae1",
             label="dose per session")
    dose.step(dates, sessions["cumulative_dose[mA*min]"], where="post", color="#1f4e79",
              marker=".", label="cumulative dose")
    dose.set_ylabel("dose (mA·min)")
    dose.set_xlabel("session date")
    dose.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    return fig
