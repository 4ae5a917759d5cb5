"use strict";
// The token inspector: sends the pasted text to POST /inspect and shows the report. Every value
// from a token is written with textContent (a token is untrusted input, never markup).
(() => {
  const $ = (id) => document.getElementById(id);
  const SECTIONS = ["token-view", "onedata-view", "caveats-view", "damage-view"];
  // Layers whose offsets count characters (Unicode scalar values) of the pasted text; the others
  // count decoded bytes.
  const TEXT_LAYERS = ["input", "base62", "base64", "json"];

  // The index in UTF-16 units (what String.slice counts) of character `offset` of the text: a
  // character outside the BMP is one character for the service and two units here.
  function indexOfCharacter(text, offset) {
    let index = 0;
    let characters = 0;
    for (const character of text) {
      if (characters === offset) break;
      characters += 1;
      index += character.length;
    }
    return index;
  }

  function element(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function field(list, name, value, truncated) {
    const dd = element("dd", "", value);
    dd.dataset.field = name;
    if (truncated) dd.append(element("span", "truncated", "(truncated)"));
    list.append(element("dt", "", name), dd);
    return dd;
  }

  // A field of the v2 JSON (`l` or `l64`) or of a recovered report (`{text}` or `{hex}`).
  function bytesOf(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    if (value.text !== undefined) return value.text;
    if (value.hex !== undefined) return "hex:" + value.hex;
    return "—";
  }

  // A field of the v2 JSON: `key` as text, or `key64` (base64url) decoded to its text when it
  // is UTF-8, else shown as hex.
  function v2Field(object, key) {
    if (object[key] !== undefined) return object[key];
    const encoded = object[key + "64"];
    if (encoded === undefined) return "";
    const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      return "hex:" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    }
  }

  function setStatus(kind, message) {
    const status = $("status");
    status.hidden = false;
    status.className = kind;
    status.textContent = message;
  }

  function reset() {
    for (const id of SECTIONS) $(id).hidden = true;
    for (const id of ["onedata-identifier", "caveats", "recovered", "notes", "input-view"]) clear($(id));
  }

  // One caveat: its text, a badge with its form, and its typed reading.
  function caveatItem(text, reading, thirdParty) {
    const item = element("li");
    item.append(element("span", "caveat-text", text));
    let form = thirdParty ? "third-party" : "first-party";
    let detail = "";
    let badge = "caveat-form";
    if (reading) {
      if (reading.third_party) {
        form = "third-party";
      } else if (reading.error) {
        form = reading.form + ": malformed";
        badge += " malformed";
        detail = reading.error;
      } else if (reading.form === "unknown") {
        form = "unknown";
        badge += " unknown";
        detail = "not a caveat of Onedata's language: a verifier refuses it";
      } else if (reading.form) {
        form = reading.form;
        if (reading.onezone) detail = "Onezone: " + JSON.stringify(reading.onezone);
      }
    }
    item.append(element("span", badge, form));
    if (reading && reading.truncated) item.append(element("span", "truncated", "(truncated)"));
    if (detail) item.append(element("div", "caveat-reading", detail));
    return item;
  }

  function showOnedata(onedata) {
    const id = onedata.identifier;
    if (!id) return;
    const list = $("onedata-identifier");
    if (id.error) {
      field(list, "Error", id.error);
      field(list, "Segment", String(id.segment));
      field(list, "Offset", String(id.offset));
    } else if (id.token_id !== undefined) {
      field(list, "Version", String(id.version));
      field(list, "Token id", id.token_id);
    } else {
      field(list, "Version", String(id.version));
      field(list, "Persistence", id.persistence);
      if (id.generation !== undefined) field(list, "Generation", String(id.generation));
      field(list, "Subject", id.subject);
      field(list, "Type", id.type);
      if (id.session !== undefined) field(list, "Session", id.session);
      if (id.invite !== undefined) {
        field(list, "Invite type", id.invite + (id.invite_known === false ? " (unknown code)" : ""));
        field(list, "Target", id.target);
        field(list, "Parameters", id.parameters === "" ? "—" : id.parameters);
      }
      field(list, "Token id", id.id);
    }
    if (id.truncated) field(list, "Note", "the identifier was cut short by the damage");
    $("onedata-view").hidden = false;
  }

  function showToken(report) {
    const m = report.macaroon;
    const service = report.service ? " (service " + report.service + ")" : "";
    setStatus("ok", "Well-formed " + report.format + " token" + service + " — not verified");
    $("format").textContent = report.format + (report.encoding && report.encoding.name !== report.format ? " (read as " + report.encoding.name + ")" : "");
    $("location").textContent = v2Field(m, "l") || "—";
    $("identifier").textContent = v2Field(m, "i");
    $("signature").textContent = report.signature_hex;
    $("token-view").hidden = false;
    const readings = report.onedata ? report.onedata.caveats : [];
    const caveats = m.c || [];
    caveats.forEach((c, index) => {
      const thirdParty = c.v !== undefined || c.v64 !== undefined;
      const item = caveatItem(v2Field(c, "i"), readings[index], thirdParty);
      if (thirdParty) {
        const where = "location " + (v2Field(c, "l") || "—") + "; verification id (base64url) " + (c.v64 || "");
        item.append(element("div", "caveat-reading", where));
      }
      $("caveats").append(item);
    });
    $("caveats-view").hidden = caveats.length === 0;
    if (report.onedata) showOnedata(report.onedata);
  }

  function showDamage(input, report) {
    const error = report.error;
    setStatus("damaged", "Damaged: " + error.message);
    $("damage-reason").textContent = error.reason + " — " + error.message;
    const textLayer = TEXT_LAYERS.includes(error.layer);
    const offset = Number(error.offset) || 0;
    $("damage-position").textContent = textLayer
      ? "character " + offset + " of the pasted text (" + error.layer + " layer)"
      : "byte " + offset + " of the decoded token (" + error.layer + " layer; the text itself decoded)";
    const view = $("input-view");
    if (textLayer) {
      const start = indexOfCharacter(input, offset);
      const end = start + (input.codePointAt(start) > 0xffff ? 2 : 1);
      view.append(element("span", "recovered", input.slice(0, start)));
      view.append(element("span", "bad", input.slice(start, end) || " "));
      view.append(element("span", "rest", input.slice(end)));
    } else {
      view.append(element("span", "recovered", input));
    }
    const recovered = report.recovered;
    if (recovered) {
      const list = $("recovered");
      field(list, "Decoded bytes", String(recovered.decoded_bytes));
      if (recovered.location) field(list, "Location", bytesOf(recovered.location), recovered.location.truncated);
      if (recovered.identifier) field(list, "Identifier", bytesOf(recovered.identifier), recovered.identifier.truncated);
      recovered.caveats.forEach((c, index) => {
        field(list, "Caveat " + index, bytesOf(c.i), c.i.truncated);
      });
      if (recovered.signature) {
        field(list, "Signature", recovered.signature.hex, recovered.signature.truncated);
      }
      if (list.children.length === 2) field(list, "Fields", "none reached");
      for (const note of recovered.notes) $("notes").append(element("li", "", note));
      const readings = report.onedata ? report.onedata.caveats : [];
      recovered.caveats.forEach((c, index) => {
        $("caveats").append(caveatItem(bytesOf(c.i), readings[index], c.v !== null && c.v !== undefined));
      });
      $("caveats-view").hidden = recovered.caveats.length === 0;
    }
    $("damage-view").hidden = false;
    if (report.onedata) showOnedata(report.onedata);
  }

  async function inspect() {
    const input = $("token").value;
    reset();
    if (!input.trim()) {
      setStatus("error", "Paste a token first.");
      return;
    }
    let report;
    try {
      const response = await fetch("/inspect", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: input }),
        cache: "no-store",
        credentials: "omit",
      });
      const body = await response.json();
      if (!response.ok) {
        setStatus("error", body.error ? body.error.description : "HTTP " + response.status);
        return;
      }
      report = body;
    } catch (e) {
      setStatus("error", "The service did not answer: " + e.message);
      return;
    }
    if (report.error) showDamage(input, report);
    else showToken(report);
    document.body.dataset.inspected = String(Number(document.body.dataset.inspected || 0) + 1);
  }

  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    inspect();
  });
  $("token").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      inspect();
    }
  });
  $("token").addEventListener("paste", () => setTimeout(inspect, 0));
})();
