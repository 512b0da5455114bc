// TuneMeld's page: reads the public JSON routes and renders them with DOM calls only.
// Every name, description and URL comes from the providers and is untrusted: text goes in
// as DOM text nodes (never parsed as HTML), and only http(s) URLs become links or images.

const SVG_NS = "http://www.w3.org/2000/svg";
const PLACEHOLDER = "/static/cover.svg";
const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const THEME_KEY = "tunemeld-theme";
const DASH = "\u2014";
const SOURCES = [
  { key: "plays", source: "Spotify", label: "Spotify plays", css: "spotify" },
  { key: "views", source: "YouTube", label: "YouTube views", css: "youtube" },
];

const RISING_SHOWN = 10;
/** Sort keys whose first click puts the smallest number first (a rank: 1 is best). */
const ASCENDING_FIRST = new Set(["rank", "peak"]);

const state = {
  genres: [],
  services: [],
  genre: null,
  rows: [],
  sort: { key: "rank", descending: false },
  period: "total",
  series: "delta",
  chartIsrc: null,
  opener: null,
  history: null,
  loading: 0,
  chartLoading: 0,
};

const $ = (selector) => document.querySelector(selector);
const numbers = new Intl.NumberFormat();
const signed = new Intl.NumberFormat(undefined, { signDisplay: "exceptZero" });

class ApiError extends Error {
  constructor(path, status, message) {
    super(message);
    this.path = path;
    this.status = status;
  }
}

// ---- safe DOM helpers ------------------------------------------------------------------

/** An element with attributes (values set as attributes, never parsed) and text children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** The URL when it is absolute http(s), else null: nothing else is ever followed or loaded. */
export function safeUrl(value) {
  if (typeof value !== "string" || value === "") return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A link opening an external page, or plain text when the URL is not http(s). */
function link(url, text, label) {
  const href = safeUrl(url);
  if (href === null) return el("span", { class: "nolink" }, text);
  return el("a", { href, rel: "noopener noreferrer", target: "_blank", "aria-label": label }, text);
}

/** A cover image; a broken or missing one shows the shipped placeholder. */
function cover(url, alt, size) {
  const img = el("img", { alt, width: size, height: size, loading: "lazy", class: "cover" });
  img.addEventListener(
    "error",
    () => {
      img.src = PLACEHOLDER;
      img.classList.add("placeholder");
    },
    { once: true },
  );
  img.src = safeUrl(url) ?? PLACEHOLDER;
  return img;
}

function text(value, fallback = "Unknown") {
  return typeof value === "string" && value.trim() !== "" ? value : fallback;
}

function count(value, isChange) {
  if (typeof value !== "number" || !Number.isFinite(value)) return DASH;
  return isChange ? signed.format(value) : numbers.format(value);
}

const isRank = (value) => Number.isInteger(value) && value >= 1;
const places = (n) => `${n} ${n === 1 ? "place" : "places"}`;

/** A row's movement as served (`{kind, places}`), or null when the API does not say. */
function movementOf(row) {
  const move = row && typeof row.movement === "object" ? row.movement : null;
  if (move === null || typeof move.kind !== "string") return null;
  const n = Number.isInteger(move.places) && move.places >= 0 ? move.places : 0;
  return { kind: move.kind, places: n, was: isRank(row.previous_rank) ? row.previous_rank : null };
}

/** What the movement mark shows (`shown`) and says to a screen reader (`said`). */
function describeMovement(move) {
  const was = move.was === null ? "" : `, was ${move.was}`;
  switch (move.kind) {
    case "up":
      return { css: "up", shown: `\u25b2${move.places}`, said: `up ${places(move.places)}${was}` };
    case "down":
      return { css: "down", shown: `\u25bc${move.places}`, said: `down ${places(move.places)}${was}` };
    case "same":
      return { css: "same", shown: "=", said: `no change${was}` };
    case "new":
      return { css: "new", shown: "NEW", said: "new this day" };
    case "re-entry":
      return { css: "re", shown: "RE", said: "back on the chart (re-entry)" };
    default:
      return null;
  }
}

/** The movement mark: an arrow with the places, a NEW or RE badge, "=" or a dash. */
function movementMark(row) {
  const move = movementOf(row);
  const about = move === null ? null : describeMovement(move);
  if (about === null) {
    return el("span", { class: "move none", title: "movement not known" }, el("span", { "aria-hidden": "true" }, DASH), el("span", { class: "sr-only" }, "movement not known"));
  }
  return el(
    "span",
    { class: `move ${about.css}`, "data-kind": move.kind, "data-places": move.places, title: about.said },
    el("span", { "aria-hidden": "true" }, about.shown),
    el("span", { class: "sr-only" }, about.said),
  );
}

/** The sortable number of a movement: places gained (lost is negative); NEW and RE unknown. */
function movementValue(row) {
  const move = movementOf(row);
  if (move === null) return null;
  if (move.kind === "up") return move.places;
  if (move.kind === "down") return -move.places;
  return move.kind === "same" ? 0 : null;
}

// ---- the API ---------------------------------------------------------------------------

async function api(path) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" } });
  } catch {
    throw new ApiError(path, 0, "The TuneMeld server did not answer. Is `inv api.start` running?");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok || body === null || body.status !== "success") {
    const message = body && typeof body.message === "string" ? body.message : `HTTP ${response.status}`;
    throw new ApiError(path, response.status, message);
  }
  return body.data;
}

/** A playlist document, whether served bare or as the legacy one-element list. */
function playlistDoc(data) {
  const doc = Array.isArray(data) ? data[0] : data;
  return doc && Array.isArray(doc.tracks) ? doc : { tracks: [] };
}

/** A track's own page on `service`: the legacy `additional_sources`, else its `<service>_url`. */
function serviceUrl(row, service) {
  const sources = row.additional_sources;
  if (sources && typeof sources === "object" && typeof sources[service] === "string") {
    return sources[service];
  }
  const wanted = `${service}url`.toLowerCase(); // "apple_music_url" for AppleMusic
  const key = Object.keys(row).find((name) => name.replaceAll("_", "").toLowerCase() === wanted);
  return key === undefined ? null : row[key];
}

/** The series of one source in a graph-data entry (`YouTube`, or the legacy `Youtube`). */
function seriesOf(graphRow, source) {
  const counts = graphRow ? graphRow.view_counts : null;
  if (!counts) return [];
  const found = counts[source] ?? (source === "YouTube" ? counts.Youtube : undefined);
  return Array.isArray(found) ? found.filter((p) => Array.isArray(p) && p.length >= 2) : [];
}

/** TuneMeld's own counts of a source (`counts.Spotify`: total, weekly), or null if not served. */
function ownCount(row, source) {
  const own = row.counts && typeof row.counts === "object" ? row.counts[source] : null;
  return own && typeof own === "object" ? own : null;
}

/** The newest known total of a source for an aggregate row, or null when none is known. */
function totalOf(row, source) {
  const own = ownCount(row, source);
  if (own !== null) return typeof own.total === "number" ? own.total : null;
  const legacy = row.view_count_data_json;
  const block = legacy ? legacy[source] ?? (source === "YouTube" ? legacy.Youtube : undefined) : undefined;
  const current = block && block.current_count_json ? block.current_count_json.current_view_count : undefined;
  // The legacy block writes 0 for "not known yet"; only our own fields can say a real zero.
  return typeof current === "number" && current > 0 ? current : null;
}

/** The change over the last 7 days from the samples, or null with fewer than two samples. */
function weeklyOf(series) {
  if (series.length < 2) return null;
  const newest = series[series.length - 1][0];
  let sum = 0;
  for (let i = 1; i < series.length; i += 1) {
    const [timestamp, delta] = series[i];
    if (newest - timestamp < WEEK_MS && typeof delta === "number") sum += delta;
  }
  return sum;
}

function toRows(playlist, graph) {
  const byIsrc = new Map((Array.isArray(graph) ? graph : []).map((entry) => [entry.isrc, entry]));
  return playlistDoc(playlist).tracks.map((track) => {
    const graphRow = byIsrc.get(track.isrc);
    const row = { track, series: {}, total: {}, weekly: {} };
    for (const { source } of SOURCES) {
      const series = seriesOf(graphRow, source)
        .map(([t, d]) => [new Date(t).getTime(), d])
        .filter(([t]) => Number.isFinite(t))
        .sort((a, b) => a[0] - b[0]);
      row.series[source] = series;
      const own = ownCount(track, source);
      row.total[source] = totalOf(track, source);
      row.weekly[source] = own !== null ? (typeof own.weekly === "number" ? own.weekly : null) : weeklyOf(series);
    }
    return row;
  });
}

// ---- rendering -------------------------------------------------------------------------

function showMessage(kind, ...parts) {
  const box = $("#message");
  box.replaceChildren(...parts);
  box.className = `message ${kind}`;
  box.hidden = false;
}

function clearMessage() {
  const box = $("#message");
  box.replaceChildren();
  box.hidden = true;
}

function renderGenres() {
  const list = $("#genres");
  list.replaceChildren(
    ...state.genres.map((genre) => {
      const a = el("a", { href: `?genre=${encodeURIComponent(genre)}`, "data-genre": genre }, genre);
      if (genre === state.genre) a.setAttribute("aria-current", "page");
      a.addEventListener("click", (event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        if (genre !== state.genre) {
          history.pushState({ genre }, "", `?genre=${encodeURIComponent(genre)}`);
          selectGenre(genre);
        }
      });
      return el("li", {}, a);
    }),
  );
}

/** The image URL of a playlist header: the still image, never the Apple video stream. */
function headerImage(header) {
  const candidates = Object.entries(header)
    .filter(([key, value]) => key.includes("cover") && key.endsWith("url") && typeof value === "string")
    .map(([, value]) => value)
    .filter((value) => !/\.m3u8(\?|$)/i.test(value));
  return candidates.find((value) => safeUrl(value) !== null) ?? null;
}

function renderHeaders(headerArt) {
  const box = $("#playlists");
  const cards = [];
  for (const service of state.services) {
    const header = headerArt && headerArt[service];
    if (!header || typeof header !== "object") continue;
    const name = text(header.playlist_name, `${service} playlist`);
    cards.push(
      el(
        "article",
        { class: "header-card" },
        cover(headerImage(header), `Cover of the ${service} playlist ${name}`, 72),
        el(
          "div",
          {},
          el("p", { class: "service" }, service),
          el("h2", {}, link(header.playlist_url, name, `${name} on ${service}`)),
          el("p", { class: "description" }, text(header.playlist_cover_description_text, "")),
        ),
      ),
    );
  }
  box.replaceChildren(...cards);
  box.hidden = cards.length === 0;
}

function renderUpdated(lastUpdated) {
  const node = $("#updated");
  const raw = lastUpdated ? lastUpdated.last_updated ?? lastUpdated.lastUpdated : null;
  const when = raw === null || raw === undefined ? null : new Date(raw);
  if (when === null || Number.isNaN(when.getTime())) {
    node.textContent = "";
    return;
  }
  const shown = when.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  node.replaceChildren("Last updated ", el("time", { datetime: when.toISOString() }, shown));
}

function sortValue(row, key) {
  if (key === "rank") return row.track.rank;
  if (key === "move") return movementValue(row.track);
  if (key === "peak") return isRank(row.track.peak_rank) ? row.track.peak_rank : null;
  if (key === "days") return isRank(row.track.days_on_chart) ? row.track.days_on_chart : null;
  const source = key === "plays" ? "Spotify" : "YouTube";
  return (state.period === "weekly" ? row.weekly : row.total)[source];
}

function sortedRows() {
  const { key, descending } = state.sort;
  return [...state.rows].sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    const xKnown = typeof x === "number";
    const yKnown = typeof y === "number";
    if (xKnown !== yKnown) return xKnown ? -1 : 1; // unknown counts last, either direction
    if (xKnown && x !== y) return descending ? y - x : x - y;
    return a.track.rank - b.track.rank;
  });
}

function renderAggregate() {
  const body = $("#aggregate tbody");
  const weekly = state.period === "weekly";
  body.replaceChildren(
    ...sortedRows().map((row) => {
      const track = row.track;
      const title = text(track.track_name, "Unknown title");
      const artist = text(track.artist_name, "Unknown artist");
      const sources = track.sources && typeof track.sources === "object" ? track.sources : {};
      const listed = state.services
        .filter((service) => typeof sources[service] === "number")
        .map((service) =>
          el(
            "li",
            {},
            link(serviceUrl(track, service), `${service} #${sources[service]}`, `${title} on ${service}, rank ${sources[service]}`),
          ),
        );
      const youtube = safeUrl(track.youtube_url)
        ? link(track.youtube_url, "Watch", `Watch ${title} on YouTube`)
        : el("span", { class: "muted" }, DASH);
      const chartButton = el("button", { type: "button", class: "quiet", "aria-label": `Chart of ${title}` }, "Chart");
      chartButton.addEventListener("click", () => openChart(track.isrc, chartButton));
      return el(
        "tr",
        { "data-isrc": track.isrc },
        el("td", { class: "num rank" }, String(track.rank)),
        el("td", { class: "move-cell", "data-col": "move" }, movementMark(track)),
        el("td", { class: "cover-cell" }, cover(track.album_cover_url, `Cover of ${title}`, 48)),
        el("td", { class: "title" }, el("span", { class: "track-name" }, title), el("span", { class: "artist" }, artist)),
        el("td", { class: "num", "data-col": "peak" }, isRank(track.peak_rank) ? String(track.peak_rank) : DASH),
        el("td", { class: "num", "data-col": "days" }, isRank(track.days_on_chart) ? String(track.days_on_chart) : DASH),
        el("td", {}, el("ul", { class: "listed" }, ...listed)),
        el("td", {}, youtube),
        ...SOURCES.map(({ source, key }) =>
          el("td", { class: "num", "data-count": key }, count((weekly ? row.weekly : row.total)[source], weekly)),
        ),
        el("td", {}, chartButton),
      );
    }),
  );
  for (const th of document.querySelectorAll("#aggregate th[data-sort]")) {
    const active = th.dataset.sort === state.sort.key;
    th.setAttribute("aria-sort", active ? (state.sort.descending ? "descending" : "ascending") : "none");
  }
}

function renderServices(playlists) {
  const box = $("#services");
  const panels = [];
  state.services.forEach((service, index) => {
    const doc = playlists[index];
    if (!doc) return;
    const rows = playlistDoc(doc).tracks.map((track) => {
      const title = text(track.track_name, "Unknown title");
      const artist = text(track.artist_name, "Unknown artist");
      return el(
        "tr",
        { "data-isrc": track.isrc },
        el("td", { class: "num rank" }, String(track.rank)),
        el("td", { class: "move-cell" }, movementMark(track)),
        el("td", { class: "cover-cell" }, cover(track.album_cover_url, `Cover of ${title}`, 32)),
        el(
          "td",
          { class: "title" },
          link(track.track_url ?? track.url, title, `${title} on ${service}`),
          el("span", { class: "artist" }, artist),
        ),
      );
    });
    const caption = el("caption", {}, service);
    panels.push(
      el(
        "section",
        { class: "panel service-panel", "data-service": service },
        el(
          "table",
          { class: "tracks compact" },
          caption,
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { scope: "col", class: "num" }, "Rank"),
              el("th", { scope: "col" }, el("span", { "aria-hidden": "true" }, "+/\u2212"), el("span", { class: "sr-only" }, "Movement")),
              el("th", { scope: "col", class: "cover-cell" }, el("span", { class: "sr-only" }, "Cover")),
              el("th", { scope: "col" }, "Track"),
            ),
          ),
          el("tbody", {}, ...rows),
        ),
      ),
    );
  });
  box.replaceChildren(...panels);
  box.hidden = panels.length === 0;
}

// ---- rising this week ------------------------------------------------------------------

/** The per-source split of a gain ("Spotify +4,740 · YouTube +2,757"); unknown sources left out. */
function gainSplit(gain) {
  return SOURCES.filter(({ source }) => typeof gain[source] === "number")
    .map(({ source }) => `${source} ${count(gain[source], true)}`)
    .join(" \u00b7 ");
}

/** The rising panel from the `/rising/<genre>` answer: the top ten, or a short message. */
function renderRising(answer) {
  const note = $("#rising-message");
  let entries = [];
  let message = null;
  if (answer.error) {
    message =
      answer.error.status === 404
        ? "No climbers known yet: they need plays or views counted on two days."
        : `Could not load this week's climbers: ${answer.error.message}`;
  } else {
    entries = (Array.isArray(answer.value) ? answer.value : [])
      .filter((entry) => entry && typeof entry === "object" && entry.gain && typeof entry.gain.total === "number")
      .slice(0, RISING_SHOWN);
    if (entries.length === 0) message = "No track has gained plays or views in the last 7 days yet.";
  }
  note.textContent = message ?? "";
  note.hidden = message === null;
  $("#rising").hidden = entries.length === 0;
  const charted = new Set(state.rows.map((row) => row.track.isrc));
  $("#rising tbody").replaceChildren(
    ...entries.map((entry, index) => {
      const title = text(entry.track_name, "Unknown title");
      const artist = text(entry.artist_name, "Unknown artist");
      let chartButton = null;
      if (charted.has(entry.isrc)) {
        chartButton = el("button", { type: "button", class: "quiet", "aria-label": `Chart of ${title}` }, "Chart");
        chartButton.addEventListener("click", () => openChart(entry.isrc, chartButton));
      }
      return el(
        "tr",
        { "data-isrc": entry.isrc },
        el("td", { class: "num rank" }, String(index + 1)),
        el("td", { class: "cover-cell" }, cover(entry.album_cover_url, `Cover of ${title}`, 32)),
        el("td", { class: "title" }, el("span", { class: "track-name" }, title), el("span", { class: "artist" }, artist)),
        el(
          "td",
          { class: "num gain", "data-col": "gain" },
          el("span", { class: "gain-total" }, count(entry.gain.total, true)),
          el("span", { class: "split" }, gainSplit(entry.gain)),
        ),
        el("td", { class: "num", "data-col": "rank" }, isRank(entry.rank) ? `#${entry.rank}` : DASH),
        el("td", { class: "move-cell" }, movementMark(entry)),
        el("td", {}, chartButton),
      );
    }),
  );
  $("#rising-section").hidden = false;
}

// ---- the chart (inline SVG) ------------------------------------------------------------

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** The points of one source: daily changes, or totals walked back from the newest total. */
function chartPoints(row, source) {
  const series = row.series[source];
  if (state.series === "delta") return series.slice(1).map(([t, d]) => [t, d]);
  const newest = row.total[source];
  if (typeof newest !== "number") return [];
  const points = [];
  let total = newest;
  for (let i = series.length - 1; i >= 0; i -= 1) {
    points.unshift([series[i][0], total]);
    total -= series[i][1];
  }
  return points;
}

const shortDay = (t) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });

function plot(label, css, points) {
  const width = 480;
  const height = 200;
  const pad = { left: 72, right: 16, top: 16, bottom: 28 };
  const figure = el("figure", { class: `plot ${css}` }, el("figcaption", {}, label));
  if (points.length === 0) {
    figure.append(el("p", { class: "muted empty" }, state.series === "total" ? "No total known yet." : "Needs two days of counts."));
    return figure;
  }
  const xs = points.map(([t]) => t);
  const ys = points.map(([, v]) => v);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys, 0), Math.max(...ys)];
  if (y0 === y1) y1 = y0 + 1;
  const x = (t) => (x0 === x1 ? (pad.left + width - pad.right) / 2 : pad.left + ((t - x0) / (x1 - x0)) * (width - pad.left - pad.right));
  const y = (v) => height - pad.bottom - ((v - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${label} over time` });
  for (const v of [y0, (y0 + y1) / 2, y1]) {
    chart.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    chart.append(svg("text", { class: "axis", x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" }, numbers.format(Math.round(v))));
  }
  chart.append(svg("text", { class: "axis", x: x(x0), y: height - 8, "text-anchor": x0 === x1 ? "middle" : "start" }, shortDay(x0)));
  if (x1 !== x0) chart.append(svg("text", { class: "axis", x: x(x1), y: height - 8, "text-anchor": "end" }, shortDay(x1)));
  chart.append(svg("polyline", { class: "line", points: points.map(([t, v]) => `${x(t)},${y(v)}`).join(" ") }));
  for (const [t, v] of points) {
    chart.append(svg("circle", { class: "dot", cx: x(t), cy: y(v), r: 4 }, svg("title", {}, `${shortDay(t)}: ${numbers.format(v)}`)));
  }
  figure.append(chart);
  return figure;
}

function renderChart() {
  const panel = $("#chart");
  const row = state.rows.find((candidate) => candidate.track.isrc === state.chartIsrc);
  if (!row) {
    panel.hidden = true;
    return;
  }
  const title = text(row.track.track_name, "Unknown title");
  const artist = text(row.track.artist_name, "Unknown artist");
  $("#chart-title").textContent = `${title} \u00b7 ${artist}`;
  const lines = SOURCES.map(({ source, label, css }) => ({ source, label, css, points: chartPoints(row, source) }));
  $("#chart-plots").replaceChildren(...lines.map(({ label, css, points }) => plot(label, css, points)));
  const days = [...new Set(lines.flatMap(({ points }) => points.map(([t]) => t)))].sort((a, b) => a - b);
  const isChange = state.series === "delta";
  $("#chart-table tbody").replaceChildren(
    ...days.map((day) =>
      el(
        "tr",
        {},
        el("td", {}, shortDay(day)),
        ...lines.map(({ points }) => {
          const point = points.find(([t]) => t === day);
          return el("td", { class: "num" }, count(point ? point[1] : null, isChange));
        }),
      ),
    ),
  );
  panel.hidden = false;
}

// ---- rank history (inline SVG, rank 1 at the top) --------------------------------------

const DAY_MS = 24 * 60 * 60 * 1000;
const SERIES_STYLES = 4;
const dayOf = (iso) => Date.parse(`${iso}T00:00:00Z`);
const dayLabel = (t) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

/** The chosen genre's playlists of a `/track/<isrc>` answer, each with its [day, rank] points. */
function rankLines(history) {
  const playlists = history && Array.isArray(history.playlists) ? history.playlists : [];
  return playlists
    .filter((playlist) => playlist && playlist.genre_name === state.genre && Array.isArray(playlist.ranks))
    .map((playlist) => ({
      name: text(playlist.service_name, "Playlist"),
      peak: isRank(playlist.peak_rank) ? playlist.peak_rank : null,
      days: isRank(playlist.days_on_chart) ? playlist.days_on_chart : null,
      points: playlist.ranks
        .filter((point) => Array.isArray(point) && typeof point[0] === "string" && isRank(point[1]))
        .map(([day, rank]) => [dayOf(day), rank])
        .filter(([t]) => Number.isFinite(t))
        .sort((a, b) => a[0] - b[0]),
    }))
    .filter((line) => line.points.length > 0)
    .map((line, index) => ({ ...line, css: `series-${index % SERIES_STYLES}` }));
}

/** Runs of consecutive days: a day off the playlist breaks the line instead of bridging it. */
function runs(points) {
  const out = [];
  for (const point of points) {
    const last = out.length ? out[out.length - 1] : null;
    if (last && point[0] - last[last.length - 1][0] <= DAY_MS * 1.5) last.push(point);
    else out.push([point]);
  }
  return out;
}

function rankPlot(lines, label) {
  const width = 720;
  const height = 240;
  const pad = { left: 48, right: 20, top: 16, bottom: 28 };
  const days = [...new Set(lines.flatMap(({ points }) => points.map(([t]) => t)))].sort((a, b) => a - b);
  const worst = Math.max(2, ...lines.flatMap(({ points }) => points.map(([, rank]) => rank)));
  const [x0, x1] = [days[0], days[days.length - 1]];
  const x = (t) => (x0 === x1 ? (pad.left + width - pad.right) / 2 : pad.left + ((t - x0) / (x1 - x0)) * (width - pad.left - pad.right));
  const y = (rank) => pad.top + ((rank - 1) / (worst - 1)) * (height - pad.top - pad.bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  for (const rank of new Set([1, Math.round((1 + worst) / 2), worst])) {
    chart.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(rank), y2: y(rank) }));
    chart.append(svg("text", { class: "axis", x: pad.left - 8, y: y(rank) + 4, "text-anchor": "end" }, `#${rank}`));
  }
  const labelled = days.length <= 10 ? days : [x0, x1];
  labelled.forEach((t, i) => {
    const anchor = labelled.length === 1 ? "middle" : i === 0 ? "start" : i === labelled.length - 1 ? "end" : "middle";
    chart.append(svg("text", { class: "axis", x: x(t), y: height - 8, "text-anchor": anchor }, dayLabel(t)));
  });
  for (const { name, css, points } of lines) {
    const group = svg("g", { class: css });
    for (const run of runs(points)) {
      if (run.length > 1) group.append(svg("polyline", { class: "line", points: run.map(([t, r]) => `${x(t)},${y(r)}`).join(" ") }));
    }
    for (const [t, rank] of points) {
      group.append(svg("circle", { class: "dot", cx: x(t), cy: y(rank), r: 4 }, svg("title", {}, `${name}: #${rank} on ${dayLabel(t)}`)));
    }
    chart.append(group);
  }
  return chart;
}

/** A legend entry: the line's sample, its playlist, peak and days on chart. */
function legendItem({ name, css, peak, days }) {
  const sample = svg("svg", { viewBox: "0 0 28 10", width: 28, height: 10, "aria-hidden": "true", class: css }, svg("line", { class: "line", x1: 1, x2: 27, y1: 5, y2: 5 }));
  const facts = [peak === null ? null : `peak #${peak}`, days === null ? null : `${days} ${days === 1 ? "day" : "days"}`].filter(Boolean);
  return el("li", {}, sample, el("strong", {}, name), facts.length ? ` ${facts.join(" \u00b7 ")}` : "");
}

function rankTable(lines) {
  const days = [...new Set(lines.flatMap(({ points }) => points.map(([t]) => t)))].sort((a, b) => a - b);
  return el(
    "table",
    { id: "rank-table", class: "tracks compact" },
    el("caption", { class: "sr-only" }, "Rank per day on each playlist"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Day"), ...lines.map(({ name }) => el("th", { scope: "col", class: "num" }, name)))),
    el(
      "tbody",
      {},
      ...days.map((day) =>
        el(
          "tr",
          {},
          el("td", {}, dayLabel(day)),
          ...lines.map(({ points }) => {
            const point = points.find(([t]) => t === day);
            return el("td", { class: "num" }, point ? `#${point[1]}` : DASH);
          }),
        ),
      ),
    ),
  );
}

function renderRanks() {
  const box = $("#chart-ranks");
  const history = state.history;
  if (history === null || history.isrc !== state.chartIsrc) {
    box.replaceChildren();
    return;
  }
  const heading = el("h3", {}, "Rank history");
  if (history.loading) {
    box.replaceChildren(heading, el("p", { class: "muted" }, "Loading the rank history\u2026"));
    return;
  }
  if (history.error) {
    const said =
      history.error.status === 404 ? "No rank history for this track yet." : `Could not load the rank history: ${history.error.message}`;
    box.replaceChildren(heading, el("p", { class: "muted" }, said));
    return;
  }
  const lines = rankLines(history.value);
  if (lines.length === 0) {
    box.replaceChildren(heading, el("p", { class: "muted" }, `No rank history on the ${state.genre} playlists yet.`));
    return;
  }
  const name = text(history.value.track_name, "this track");
  const caption = `${name} on each ${state.genre} playlist, #1 at the top`;
  box.replaceChildren(
    heading,
    el(
      "figure",
      { class: "plot rank-plot" },
      el("figcaption", {}, caption),
      rankPlot(lines, `Rank history of ${name}`),
      el("ul", { class: "legend" }, ...lines.map(legendItem)),
    ),
    rankTable(lines),
  );
}

async function loadHistory(isrc) {
  const ticket = ++state.chartLoading;
  state.history = { isrc, loading: true };
  renderRanks();
  let answer;
  try {
    answer = { value: await api(`/track/${encodeURIComponent(isrc)}`) };
  } catch (error) {
    answer = { error };
  }
  if (ticket !== state.chartLoading || state.chartIsrc !== isrc) return; // another track meanwhile
  state.history = { isrc, ...answer };
  renderRanks();
}

function openChart(isrc, opener) {
  state.opener = opener ?? null;
  const changed = state.chartIsrc !== isrc;
  state.chartIsrc = isrc;
  renderChart();
  if (changed || state.history === null || state.history.isrc !== isrc) loadHistory(isrc);
  $("#chart").scrollIntoView({ block: "nearest" });
  $("#chart-title").focus();
}

// ---- loading ---------------------------------------------------------------------------

function noDataMessage(genre) {
  return [
    el("strong", {}, `No data for ${genre} yet.`),
    " Run ",
    el("code", {}, "inv etl.run --stage full"),
    " to fetch today's playlists, then reload this page.",
  ];
}

async function selectGenre(genre) {
  state.genre = genre;
  state.chartIsrc = null;
  state.history = null;
  state.chartLoading += 1; // a rank history still loading belongs to the old genre
  const ticket = ++state.loading;
  renderGenres();
  document.title = `TuneMeld \u00b7 ${genre}`;
  $("#chart").hidden = true;
  const g = encodeURIComponent(genre);
  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));
  const [playlist, graph, headerArt, updated, rising, ...services] = await Promise.all([
    settle(api(`/playlist-data/${g}`)),
    settle(api(`/graph-data/${g}`)),
    settle(api(`/header-art/${g}`)),
    settle(api(`/last-updated/${g}`)),
    settle(api(`/rising/${g}`)),
    ...state.services.map((service) => settle(api(`/service-playlist/${g}/${encodeURIComponent(service)}`))),
  ]);
  if (ticket !== state.loading) return; // a newer genre was chosen meanwhile
  renderHeaders(headerArt.value);
  renderUpdated(updated.value);
  renderServices(services.map((answer) => answer.value));
  if (playlist.error) {
    state.rows = [];
    $("#aggregate-section").hidden = true;
    $("#rising-section").hidden = true;
    if (playlist.error.status === 404) showMessage("empty", ...noDataMessage(genre));
    else showMessage("error", el("strong", {}, "Could not load the chart. "), playlist.error.message);
    return;
  }
  state.rows = toRows(playlist.value, graph.value);
  const failed = [graph, headerArt, updated, ...services].find((answer) => answer.error && answer.error.status !== 404);
  if (failed) showMessage("error", el("strong", {}, "Part of the page could not load. "), failed.error.message);
  else clearMessage();
  $("#aggregate-section").hidden = false;
  renderAggregate();
  renderRising(rising); // its own message on an error: the rest of the page stands
}

function genreFromUrl() {
  const asked = new URLSearchParams(location.search).get("genre");
  const match = state.genres.find((genre) => genre.toLowerCase() === (asked ?? "").toLowerCase());
  return match ?? state.genres[0];
}

// ---- theme -----------------------------------------------------------------------------

function effectiveTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === "light" || chosen === "dark") return chosen;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function setUpTheme() {
  const button = $("#theme");
  let stored = null;
  try {
    stored = localStorage.getItem(THEME_KEY);
  } catch {
    stored = null; // storage can be disabled; the system setting still applies
  }
  if (stored === "light" || stored === "dark") document.documentElement.dataset.theme = stored;
  const show = () => button.setAttribute("aria-pressed", String(effectiveTheme() === "dark"));
  button.addEventListener("click", () => {
    const next = effectiveTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // not remembered across visits; the toggle still works now
    }
    show();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", show);
  show();
}

// ---- wiring ----------------------------------------------------------------------------

function setUpControls() {
  for (const th of document.querySelectorAll("#aggregate th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.sort;
      if (state.sort.key === key) state.sort.descending = !state.sort.descending;
      else state.sort = { key, descending: !ASCENDING_FIRST.has(key) };
      renderAggregate();
    });
  }
  for (const input of document.querySelectorAll("input[name=period]")) {
    input.addEventListener("change", () => {
      state.period = input.value;
      renderAggregate();
    });
  }
  for (const input of document.querySelectorAll("input[name=series]")) {
    input.addEventListener("change", () => {
      state.series = input.value;
      renderChart();
    });
  }
  $("#chart-close").addEventListener("click", () => {
    const isrc = state.chartIsrc;
    state.chartIsrc = null;
    state.history = null;
    state.chartLoading += 1;
    $("#chart").hidden = true;
    const opener = state.opener !== null && state.opener.isConnected ? state.opener : null;
    const button = opener ?? document.querySelector(`#aggregate tr[data-isrc="${CSS.escape(isrc ?? "")}"] button`);
    if (button) button.focus();
  });
  window.addEventListener("popstate", () => selectGenre(genreFromUrl()));
}

async function main() {
  setUpTheme();
  setUpControls();
  let index;
  try {
    index = await api("/");
  } catch (error) {
    showMessage("error", el("strong", {}, "Could not reach the TuneMeld API. "), error.message);
    return;
  }
  state.genres = Array.isArray(index.genres) ? index.genres.filter((g) => typeof g === "string") : [];
  state.services = Array.isArray(index.services) ? index.services.filter((s) => typeof s === "string") : [];
  if (state.genres.length === 0) {
    showMessage("error", "The API lists no genres.");
    return;
  }
  await selectGenre(genreFromUrl());
}

main();
