// Fetches each figure's plotly JSON and draws it; all figures load in parallel.
(function () {
  for (const div of document.querySelectorAll(".plot")) {
    fetch(div.dataset.url, {credentials: "same-origin"})
      .then((response) => response.json())
      .then((figure) => {
        if (figure.rows === 0) figure.layout.annotations = [{text: "no data for this period", showarrow: false,
          xref: "paper", yref: "paper", x: 0.5, y: 0.5}];
        return Plotly.newPlot(div, figure.data, figure.layout, {responsive: true, displaylogo: false});
      })
      .then(() => div.classList.add("rendered"))
      .catch((error) => { div.textContent = "This figure could not be loaded: " + error; });
  }
})();
