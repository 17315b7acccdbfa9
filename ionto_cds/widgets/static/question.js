// One accessible question (see ionto_cds/widgets/question.py).
function make(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const uid = "ionto-q-" + model.get("name") + "-" + Math.random().toString(36).slice(2, 8);
  const kind = model.get("kind");
  el.classList.add("ionto-q");
  const head = make("div", { class: "ionto-q-head" });
  const help = make("div", { class: "ionto-help", id: uid + "-help" }, model.get("help"));
  const error = make("div", { class: "ionto-error", id: uid + "-error", "aria-live": "polite" });
  const described = uid + "-help " + uid + "-error";
  const title = make("span", { class: "ionto-label" });
  const strong = make("b", {}, model.get("label"));
  title.appendChild(strong);
  if (model.get("unit")) title.appendChild(document.createTextNode(" (" + model.get("unit") + ")"));
  if (model.get("required")) {
    title.appendChild(document.createTextNode(" "));
    title.appendChild(make("span", { class: "ionto-required" }, "(required)"));
  }
  let controls = [];

  function radios(name, options, group, labelledby) {
    const box = make("div", { class: "ionto-options", role: "radiogroup",
                              "aria-labelledby": labelledby, "aria-describedby": described });
    for (const [value, text] of options) {
      const id = name + "-" + value;
      const input = make("input", { type: "radio", name: name, id: id, value: value });
      const label = make("label", { for: id, class: "ionto-option" });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + text));
      input.addEventListener("change", () => {
        if (input.checked) { model.set(group, value); model.save_changes(); }
      });
      box.appendChild(label);
      controls.push(input);
    }
    return box;
  }

  let body;
  if (kind === "choice" || kind === "list") {
    body = make("fieldset", { class: "ionto-q-fieldset" });
    const legend = make("legend", { id: uid + "-legend" });
    legend.appendChild(title);
    body.appendChild(legend);
    body.appendChild(help);
    body.appendChild(radios(uid, model.get("options"), "value", uid + "-legend"));
    if (kind === "list") {
      const ticks = make("fieldset", { class: "ionto-ticks" });
      ticks.appendChild(make("legend", { class: "ionto-ticks-legend" }, "Which ones"));
      for (const [value, text] of model.get("choices")) {
        const id = uid + "-tick-" + value;
        const input = make("input", { type: "checkbox", id: id, value: value });
        const label = make("label", { for: id, class: "ionto-option" });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + text));
        input.addEventListener("change", () => {
          const picked = Array.from(ticks.querySelectorAll("input:checked")).map(i => i.value);
          model.set("picked", picked);
          if (input.checked && model.get("value") !== "some") model.set("value", "some");
          model.save_changes();
        });
        ticks.appendChild(label);
      }
      body.appendChild(ticks);
    } else {
      body.addEventListener("keydown", (event) => {
        const key = { y: "yes", n: "no", u: "unknown" }[event.key.toLowerCase()];
        if (!key || event.ctrlKey || event.metaKey || event.altKey) return;
        const target = controls.find(c => c.value === key);
        if (!target) return;
        event.preventDefault();
        target.checked = true;
        target.focus();
        model.set("value", key);
        model.save_changes();
      });
    }
  } else {
    body = make("div", { class: "ionto-q-single" });
    const label = make("label", { for: uid + "-input", id: uid + "-legend" });
    label.appendChild(title);
    body.appendChild(label);
    body.appendChild(help);
    let input;
    if (kind === "select") {
      input = make("select", { id: uid + "-input", "aria-describedby": described });
      for (const [value, text] of model.get("options")) {
        input.appendChild(make("option", { value: value }, text));
      }
      input.addEventListener("change", () => { model.set("value", input.value); model.save_changes(); });
    } else {
      input = make("input", { type: "text", id: uid + "-input", "aria-describedby": described,
                              placeholder: model.get("placeholder"), autocomplete: "off",
                              spellcheck: "false" });
      const commit = () => {
        if (input.value !== model.get("value")) { model.set("value", input.value); model.save_changes(); }
      };
      input.addEventListener("change", commit);
      input.addEventListener("keydown", (event) => { if (event.key === "Enter") commit(); });
    }
    input.classList.add("ionto-control");
    body.appendChild(input);
    controls.push(input);
  }
  body.appendChild(error);
  el.appendChild(body);

  function show() {
    const value = model.get("value");
    for (const c of controls) {
      if (c.type === "radio") c.checked = c.value === value;
      else if (c.value !== value && document.activeElement !== c) c.value = value;
    }
    const picked = new Set(model.get("picked"));
    for (const box of el.querySelectorAll(".ionto-ticks input")) box.checked = picked.has(box.value);
    const ticks = el.querySelector(".ionto-ticks");
    if (ticks) ticks.hidden = value === "none";
    const message = model.get("error");
    error.textContent = message ? "\u26a0 " + message : "";
    for (const c of controls) {
      if (message) c.setAttribute("aria-invalid", "true"); else c.removeAttribute("aria-invalid");
    }
    el.classList.toggle("ionto-field-invalid", !!message);
  }
  function focus() {
    const target = controls.find(c => c.checked) || controls[0];
    if (!target) return;
    target.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center" });
  }
  model.on("change:value", show);
  model.on("change:picked", show);
  model.on("change:error", show);
  model.on("change:focus_request", focus);
  show();
}
export default { render };
