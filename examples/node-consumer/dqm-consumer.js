#!/usr/bin/env node
// A second, independent consumer of dqm's version files, in plain Node.js (20+, no packages),
// written from docs/consumers.md alone. Section numbers (§) refer to that guide.
//
//   node dqm-consumer.js verify VERSION.json [INDEX.json] [--public-key KEY.pub.pem]
//   node dqm-consumer.js decide --exports DIR --ruleset ID [--version N] [--history FILLS.csv|FILLS.jsonl] [--drug-words TABLE.json] CLAIMS.csv|CLAIMS.jsonl
//   node dqm-consumer.js conformance CONFORMANCE_DIR
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// -- text helpers (§ Terms) ------------------------------------------------------------------
const W = "\\t-\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRIM = new RegExp(`^[${W}]+|[${W}]+$`, "g");
const trim = (s) => s.replace(TRIM, "");

// Full case folding as lowercasing plus the exceptions of § Case folding.
const FOLD = new Map([
  ["ß", "ss"], ["ẞ", "ss"], ["ς", "σ"], ["\u0345", "ι"], ["ſ", "s"],
  ["ﬀ", "ff"], ["ﬁ", "fi"], ["ﬂ", "fl"], ["ﬃ", "ffi"], ["ﬄ", "ffl"], ["ﬅ", "st"], ["ﬆ", "st"],
]);
[..."вдосттъѣꙋ"].forEach((c, i) => FOLD.set(String.fromCodePoint(0x1c80 + i), c));
for (let cp = 0x13f8; cp <= 0x13fd; cp++) FOLD.set(String.fromCodePoint(cp), String.fromCodePoint(cp - 8));
for (let cp = 0xab70; cp <= 0xabbf; cp++) FOLD.set(String.fromCodePoint(cp), String.fromCodePoint(cp - 0xab70 + 0x13a0));
const fold = (s) => Array.from(s.toLowerCase(), (c) => FOLD.get(c) ?? c).join("");

// -- §6 drug words ---------------------------------------------------------------------------
// By the table of what each code point becomes (conformance/drug-words.json), not by the
// runtime's own Unicode, whose version is not dqm's.
let wordTable = null;
function loadWordTable(file) {
  const table = JSON.parse(fs.readFileSync(file, "utf8"));
  const starts = [], kinds = [];
  let next = 0;
  for (const entry of table.entries) {
    const [span, kind, ...rest] = entry.split(" ");
    const [first, last = first] = span.split("..").map((h) => parseInt(h, 16));
    if (first !== next) throw new Error(`${file}: ${entry} does not follow ${next.toString(16)}`);
    const mapped = kind === "map" ? String.fromCodePoint(...rest.map((h) => parseInt(h, 16))) : null;
    starts.push(first);
    kinds.push(mapped ?? kind);
    next = last + 1;
  }
  if (next !== 0x110000) throw new Error(`${file} stops at ${next.toString(16)}`);
  wordTable = { starts, kinds, cache: new Map() };
}
function becomes(ch) {
  const t = wordTable ?? (loadWordTable(path.join(__dirname, "..", "..", "conformance", "drug-words.json")), wordTable);
  let out = t.cache.get(ch);
  if (out !== undefined) return out;
  const cp = ch.codePointAt(0);
  let lo = 0, hi = t.starts.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (t.starts[mid] <= cp) lo = mid; else hi = mid - 1; }
  const kind = t.kinds[lo];
  if (kind === "keep") out = ch;
  else if (kind === "drop") out = "";
  else if (kind === "break") out = " ";
  else if (kind === "hangul") {
    const s = cp - 0xac00;
    out = String.fromCodePoint(0x1100 + Math.floor(s / 588), 0x1161 + Math.floor((s % 588) / 28), ...(s % 28 ? [0x11a7 + (s % 28)] : []));
  } else out = kind; // map: what it becomes
  t.cache.set(ch, out);
  return out;
}
function words(text) {
  let s = "";
  for (const ch of text) s += becomes(ch);
  return s.split(" ").filter(Boolean).join(" ");
}
const hasWords = (drugWords, entryWords) =>
  entryWords !== "" && ` ${drugWords} `.includes(` ${entryWords} `);

// -- §3 claims grammar -----------------------------------------------------------------------
function readNdc(text) {
  const t = trim(text);
  if (!/^[0-9-]+$/.test(t)) return null;
  const g = t.split("-");
  if (g.length === 1) return t.length === 11 ? t : null;
  if (g.length !== 3) return null;
  const layout = g.map((x) => x.length).join("-");
  if (layout === "5-4-2") return g.join("");
  if (layout === "4-4-2") return "0" + g.join("");
  if (layout === "5-3-2") return `${g[0]}0${g[1]}${g[2]}`;
  if (layout === "5-4-1") return `${g[0]}${g[1]}0${g[2]}`;
  return null;
}
function readRxcui(text) {
  const t = trim(text);
  if (!/^[0-9]+$/.test(t)) return null;
  return t.replace(/^0+/, "") || "0";
}
const channelKey = (text) =>
  fold(trim(text)).replace(new RegExp(`[${W}_-]+`, "g"), "_").replace(/^_+|_+$/g, "");
function readChannel(text) {
  const key = channelKey(text);
  if (key === "") return null; // missing
  return key === "retail" || key === "home_delivery" ? key : "unknown";
}
function readQuantity(text) {
  const m = /^[ \t]*([0-9]+(?:\.[0-9]+)?)[ \t]*$/.exec(text);
  return m ? Number(m[1]) : null; // Infinity from about 1.8e308: over the range
}
// §7: JSON has no infinity: a quantity too large for a double is null there.
const jsonNumber = (x) => (Number.isFinite(x) ? x : null);
const quantityInRange = (q) => q !== null && q > 0 && q <= 1000000;
function readDate(text) {
  const t = trim(text);
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(t) || /^([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(t);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}
const given = (v) => v !== undefined && v !== null && v !== "";
const productKey = (text) => (given(text) ? fold(trim(text)) : ""); // "": not given (§3)
const listItems = (text) => (given(text) ? text.split(";").map(trim).filter(Boolean) : []);
const drugItems = (text) => (given(text) ? text.split(";").map((d) => d.replace(/^[\t-\r ]+|[\t-\r ]+$/g, "")) : []);

// -- §1, §2 files and hashes -----------------------------------------------------------------
function sortKeys(x) {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (x && typeof x === "object") {
    const out = {};
    for (const k of Object.keys(x).sort()) out[k] = sortKeys(x[k]);
    return out;
  }
  return x;
}
const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const canonical = (doc) => JSON.stringify(sortKeys(doc), null, 2) + "\n";

function contentForm(doc) {
  const rules = {};
  for (const k of ["ruleset_id", "title", "owner", "policies", "criteria", "drug_lists"]) rules[k] = doc[k];
  rules.policies = doc.policies.map((pol) => ({
    ...pol,
    products: pol.products.map((p) => {
      if (!Array.isArray(p.codes) || p.codes.length) return p;
      const { codes, ...rest } = p;
      return rest;
    }),
  }));
  if ("effective_date" in doc && doc.effective_date !== latestReview(doc)) rules.effective_date = doc.effective_date;
  return JSON.stringify(sortKeys(rules));
}
function latestReview(doc) {
  const dates = doc.policies.flatMap((p) => p.history.map((h) => h.review_date)).sort();
  return dates.length ? dates[dates.length - 1] : null;
}
function hashes(doc) {
  const { sha256: _, ...body } = doc;
  return { sha256: sha256(canonical(body)), content_sha256: sha256(contentForm(doc)) };
}
function byteSha256(bytes) {
  // The file minus its top-level "sha256" line (§2), hashed as stored.
  const text = bytes.toString("utf8");
  const line = /\n {2}"sha256": "[0-9a-f]{64}",(?=\n)/;
  return sha256(Buffer.from(text.replace(line, ""), "utf8"));
}

// §2 Signatures: with the publisher's public key, v<N>.sig beside the file must hold a valid
// Ed25519 signature (base64) over the version file's exact bytes.
function signatureProblem(versionPath, bytes, publicKeyPem) {
  const sigPath = versionPath.replace(/\.json$/, ".sig");
  if (!fs.existsSync(sigPath)) return `not signed (no ${path.basename(sigPath)} beside it)`;
  const signature = Buffer.from(fs.readFileSync(sigPath, "utf8").trim(), "base64");
  const key = crypto.createPublicKey(publicKeyPem);
  return crypto.verify(null, bytes, key, signature) ? null : "its signature does not verify with the public key";
}

function verifyFile(versionPath, indexPath, publicKeyPem) {
  const bytes = fs.readFileSync(versionPath);
  const doc = JSON.parse(bytes.toString("utf8"));
  const problems = [];
  if (publicKeyPem) {
    const problem = signatureProblem(versionPath, bytes, publicKeyPem);
    if (problem) problems.push(problem);
  }
  const h = hashes(doc);
  if (h.sha256 !== doc.sha256) problems.push(`sha256 is ${doc.sha256}, its content hashes to ${h.sha256}`);
  if (byteSha256(bytes) !== doc.sha256) problems.push("sha256 does not match the file's bytes");
  if (h.content_sha256 !== doc.content_sha256) problems.push(`content_sha256 is ${doc.content_sha256}, computed ${h.content_sha256}`);
  if (indexPath) {
    const index = JSON.parse(fs.readFileSync(indexPath, "utf8"));
    const entry = index.versions.find((e) => e.version === doc.version);
    if (!entry) problems.push(`${indexPath} does not list v${doc.version}`);
    else {
      if (entry.sha256 !== doc.sha256) problems.push(`${indexPath} gives v${doc.version} sha256 ${entry.sha256}`);
      if (entry.content_sha256 !== doc.content_sha256) problems.push(`${indexPath} gives another content_sha256`);
      for (const [kind, f] of Object.entries(entry.files || {})) {
        const got = sha256(fs.readFileSync(path.join(path.dirname(indexPath), f.file)));
        if (got !== f.sha256) problems.push(`${f.file} (${kind}) hashes to ${got}, the index says ${f.sha256}`);
      }
    }
  }
  return { doc, problems };
}

// -- §5 one version ---------------------------------------------------------------------------
const MAX_FIELD = { retail: "retail_max_qty", home_delivery: "home_delivery_max_qty" };
const DAYS_FIELD = { retail: "retail_days", home_delivery: "home_delivery_days" };
const noMember = (claim) => !given(claim.member_id) || trim(claim.member_id) === "";

class Version {
  constructor(doc) {
    this.doc = doc;
    this.products = [];
    this.byId = new Map();
    this.byCode = { ndc: new Map(), rxcui: new Map() };
    for (const pol of doc.policies) {
      for (const p of pol.products) {
        // Retired: its policy, or (schema 3) the product itself.
        const product = { ...p, policy_id: pol.policy_id, retired: pol.status === "retired" || p.status === "retired" };
        this.products.push(product);
        this.byId.set(fold(p.product_id), product);
        for (const c of p.codes || []) this.byCode[c.code_system].set(c.code, product);
      }
    }
    this.criteria = new Map(doc.criteria.map((c) => [fold(c.criterion_id), c]));
    this.lists = new Map(
      doc.drug_lists.map((dl) => [
        dl.drug_list_id,
        dl.drugs.flatMap((d) => [d.drug, ...d.also_known_as]).map(words),
      ]),
    );
  }

  // The claim's product: a product, "unknown", or an invalid reason (§5 Product). `later`: for a
  // claim routed to this version by date, the codes it does not list that later versions do.
  product(claim, later) {
    const named = [];
    const key = productKey(claim.product_id);
    if (key !== "") named.push(this.byId.get(key) ?? "unknown");
    for (const [system, read] of [["ndc", readNdc], ["rxcui", readRxcui]]) {
      if (!given(claim[system]) || trim(claim[system]) === "") continue;
      const code = read(claim[system]);
      if (code === null) return { invalid: `malformed ${system}` };
      named.push(this.byCode[system].get(code) ?? later?.[system].get(code) ?? "unknown");
    }
    if (!named.length) return { invalid: "no product" };
    if (named.some((n) => n !== named[0])) return { invalid: "identifiers disagree" };
    return { product: named[0] };
  }

  decide(claim, outOfEffect = false, later = null) {
    const { product, invalid: productProblem } = this.product(claim, later);
    const known = product && product !== "unknown" ? product : null;
    const channel = given(claim.channel) ? readChannel(claim.channel) : null;
    const quantity = given(claim.quantity) ? readQuantity(claim.quantity) : null;
    const hasDate = given(claim.date_of_service) && trim(claim.date_of_service) !== "";
    const date = hasDate ? readDate(claim.date_of_service) : null;
    const attested = listItems(claim.attested_criteria).map(fold);
    const problems = [];
    if (claim[RAGGED]) problems.push("not as many fields as the header");
    if (productProblem) problems.push(productProblem);
    if (channel === null) problems.push("channel missing");
    else if (channel === "unknown") problems.push("channel unknown");
    if (!quantityInRange(quantity)) problems.push("quantity");
    if (hasDate && date === null) problems.push("date");
    if (attested.some((a) => !this.criteria.has(a))) problems.push("unknown attested criterion");
    // §5 limits over time: a Per Days claim (in effect, not retired) needs a member and a date.
    const perDays = known !== null && DAYS_FIELD.retail in known;
    if (perDays && !outOfEffect && !known.retired) {
      if (noMember(claim)) problems.push("no member_id");
      if (!hasDate) problems.push("no date_of_service");
    }

    const out = {
      claim_id: claim.claim_id,
      // §7: as given when it gives one (a key, §3); else the product its codes name; else null.
      product_id: productKey(claim.product_id) !== "" ? claim.product_id : known ? known.product_id : null,
      policy_id: known && !outOfEffect ? known.policy_id : null,
      channel: channel === "unknown" ? claim.channel : channel,
      // §7: the number; the text as given where it is not one; null when missing (§3).
      quantity: quantity !== null ? jsonNumber(quantity) : given(claim.quantity) && trim(claim.quantity) !== "" ? claim.quantity : null,
      date_of_service: !given(claim.date_of_service) ? null : date ?? claim.date_of_service,
      decision: null,
      approved_quantity: null,
      member_id: given(claim.member_id) ? claim.member_id : null,
      limit: null,
      accumulated_quantity: null,
      period_days: null,
      criterion_id: null,
      matched_drugs: null,
      reject_code: null,
      approval_months: null,
      message: "",
      ruleset_id: this.doc.ruleset_id,
      ruleset_version: outOfEffect ? null : this.doc.version,
    };
    if (problems.length) return { ...out, decision: "invalid", message: `Invalid: ${problems.join("; ")}.` };
    if (!known || outOfEffect || known.retired) return { ...out, decision: "not_applicable", message: "Not applicable." };
    const limit = known[MAX_FIELD[channel]];
    out.limit = limit;
    if (quantity <= limit && !perDays) {
      return { ...out, decision: "approve", approved_quantity: quantity, message: "Within the limit.", [PLACE]: place(claim, known, date) };
    }

    const drugs = drugItems(claim.concomitant_drugs).map((d) => [d, words(d)]);
    let winner = null;
    let matched = null;
    for (const o of known.overrides) {
      const c = this.criteria.get(fold(o.criterion_id));
      let met;
      let onList = null;
      if (c.met_when === "attested") met = attested.includes(fold(c.criterion_id));
      else {
        const entries = this.lists.get(c.drug_list_id);
        onList = drugs.filter(([, w]) => entries.some((e) => hasWords(w, e))).map(([d]) => d);
        met = onList.length > 0;
      }
      if (!met) continue;
      const cap = o[MAX_FIELD[channel]];
      const best = winner && winner[MAX_FIELD[channel]];
      if (!winner || cap > best || (cap === best && o.criterion_id < winner.criterion_id)) {
        winner = o;
        matched = onList && onList.join("; ");
      }
    }
    const overridden = (approved) => ({
      ...out,
      decision: "override",
      approved_quantity: approved,
      criterion_id: winner.criterion_id,
      matched_drugs: matched,
      reject_code: 76,
      approval_months: winner.approval_months,
      message: `Over the limit; ${winner.criterion_id} met.`,
    });
    const denied = { ...out, decision: "deny", approved_quantity: 0, reject_code: 76, message: `Over the limit of ${limit}.` };
    if (perDays) {
      // Decided once what the member received in the window (A, in millionths) is known.
      const cap = winner ? micro(winner[MAX_FIELD[channel]]) : null;
      const q = micro(quantity), l = micro(limit), days = known[DAYS_FIELD[channel]];
      const settle = (a) => {
        const window = { accumulated_quantity: Number(a) / 1e6, period_days: days };
        if (a + q <= l) return [{ ...out, ...window, decision: "approve", approved_quantity: quantity, message: "Within the limit over the window." }, q];
        const granted = cap === null ? 0n : cap - a < q ? cap - a : q;
        if (granted <= 0n) return [{ ...denied, ...window }, 0n];
        return [{ ...overridden(granted === q ? quantity : Number(granted) / 1e6), ...window }, granted];
      };
      return { ...out, [WINDOW]: { ...place(claim, known, date), days, settle } };
    }
    const decided = winner ? overridden(Math.min(quantity, winner[MAX_FIELD[channel]])) : denied;
    return { ...decided, [PLACE]: place(claim, known, date) };
  }
}

// -- §5 limits over time ------------------------------------------------------------------------
// A Per Days claim's first decision carries its window (WINDOW: where it counts, and `settle`,
// which decides it once A, what its member received in the window, is known, giving what it
// dispensed); any other approve, override or deny carries where it would count (PLACE).
const WINDOW = Symbol("the claim's window");
const PLACE = Symbol("where the claim counts");
const place = (claim, known, date) =>
  given(claim.member_id) && date !== null
    ? { member: trim(claim.member_id), product: fold(known.product_id), day: dayNumber(date) }
    : null;
// round(x × 1,000,000), the double product rounded half to even, as an exact integer.
function micro(x) {
  const p = x * 1e6;
  const f = Math.floor(p);
  const d = p - f;
  return BigInt(d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f);
}
// A YYYY-MM-DD date as a day number (days from civil; only differences matter).
function dayNumber(date) {
  let y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7)), d = Number(date.slice(8, 10));
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400), yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
}
class HistoryStop extends Error {}

// The run's first decisions (input order) settled against the members' fills (history) and the
// run's claims before each one: an earlier date, or the same date and earlier in the input.
function settleRun(first, fills) {
  const perDays = new Set(first.filter((d) => d[WINDOW]).map((d) => d[WINDOW].product));
  if (!perDays.size) return first;
  const groups = new Map(); // member, product -> the run's claims and the fills that count
  const group = ({ member, product }) => {
    const key = `${member}\u0000${product}`;
    if (!groups.has(key)) groups.set(key, { run: [], had: [] });
    return groups.get(key);
  };
  first.forEach((d, i) => {
    if (d[WINDOW]) group(d[WINDOW]).run.push({ i, ...d[WINDOW] });
    // Decided Per Rx by its version (a version change in the window): counts what it approved.
    else if (d[PLACE] && perDays.has(d[PLACE].product)) {
      group(d[PLACE]).run.push({ i, day: d[PLACE].day, fixed: micro(d.approved_quantity) });
    }
  });
  for (const f of fills) if (perDays.has(f.product)) group(f).had.push(f);
  const out = first.slice();
  for (const { run, had } of groups.values()) {
    run.sort((a, b) => a.day - b.day || a.i - b.i);
    had.sort((a, b) => a.day - b.day);
    const hadSum = [0n];
    for (const f of had) hadSum.push(hadSum[hadSum.length - 1] + f.quantity);
    const runSum = [0n];
    run.forEach((c, k) => {
      let counts = c.fixed;
      if (c.settle) {
        const start = c.day - c.days + 1;
        const a = hadSum[upper(had, c.day)] - hadSum[lower(had, start)] + runSum[k] - runSum[lower(run, start)];
        [out[c.i], counts] = c.settle(a);
      }
      runSum.push(runSum[k] + counts);
    });
  }
  return out;
}
// The first position whose day is >= day (lower) or > day (upper), in a list sorted by day.
function lower(list, day) {
  let lo = 0, hi = list.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid].day < day) lo = mid + 1; else hi = mid; }
  return lo;
}
const upper = (list, day) => lower(list, day + 1);

// -- §4 which version decides ----------------------------------------------------------------
class Ruleset {
  constructor(docs) {
    this.versions = new Map(docs.map((d) => [d.version, new Version(d)]));
    this.latest = Math.max(...this.versions.keys());
    const effective = (d) => d.effective_date ?? latestReview(d); // null: in effect on every date
    this.starts = docs.map((d) => [effective(d) ?? "", d.version]).sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]);
    this.first = this.starts[0][1];
    this.later = new Map(); // version -> the codes later versions list (laterCodes)
  }

  // One claim's first decision, by `version` or by the version in effect on its date (§4).
  decideOne(claim, version) {
    if (version !== null) return this.versions.get(version).decide(claim);
    const date = given(claim.date_of_service) ? readDate(claim.date_of_service) : null;
    let inEffect = null;
    if (date === null) inEffect = this.latest;
    else for (const [start, v] of this.starts) if (start <= date) inEffect = Math.max(inEffect ?? 0, v);
    // None in effect: checked by the first version (§4), with its own codes alone.
    if (inEffect === null) return this.versions.get(this.first).decide(claim, true);
    return this.versions.get(inEffect).decide(claim, false, this.laterCodes(inEffect));
  }

  // §5 Product, codes across versions: the codes version v does not list, each read through the
  // nearest later version that lists it, as v's product of that product_id ("unknown" when v
  // has none). Made once per version.
  laterCodes(v) {
    if (!this.later.has(v)) {
      const own = this.versions.get(v);
      const found = { ndc: new Map(), rxcui: new Map() };
      const later = [...this.versions.keys()].filter((w) => w > v).sort((a, b) => a - b);
      for (const w of later) { // the nearest first
        for (const [system, codes] of Object.entries(this.versions.get(w).byCode)) {
          for (const [code, p] of codes) {
            if (!found[system].has(code) && !own.byCode[system].has(code)) {
              found[system].set(code, own.byId.get(fold(p.product_id)) ?? "unknown");
            }
          }
        }
      }
      this.later.set(v, found);
    }
    return this.later.get(v);
  }

  // The claims decided as one run (§5 limits over time) against `history`, the members' fills
  // (claim-like objects with an optional status); HistoryStop for a fill that cannot be counted.
  decide(claims, version = null, history = []) {
    const fills = this.fills(history, version);
    const first = claims.map((c, i) =>
      this.decideOne({ ...c, [RAGGED]: c[RAGGED], claim_id: given(c.claim_id) ? c.claim_id : String(i + 1) }, version));
    return settleRun(first, fills);
  }

  // §5 History: each row read as a claim of the version in effect on its date, its channel not
  // read; a status other than paid or reversed, or a row that decides invalid (not reversed),
  // stops the run. Counted: paid rows deciding approve, override or deny, with a member.
  fills(history, version) {
    const status = history.map((h, i) => {
      const s = given(h.status) ? fold(trim(h.status)) : "";
      if (!["", "paid", "reversed"].includes(s)) throw new HistoryStop(`history row ${i + 1}: status ${JSON.stringify(h.status)} is not paid or reversed`);
      return s || "paid";
    });
    const fills = [];
    history.forEach((h, i) => {
      const d = this.decideOne({ ...h, [RAGGED]: h[RAGGED], claim_id: String(i + 1), channel: "retail" }, version);
      if (d.decision === "invalid" && status[i] !== "reversed") throw new HistoryStop(`history row ${i + 1}: ${d.message}`);
      const at = d[WINDOW] ?? d[PLACE];
      if (status[i] === "paid" && at) fills.push({ ...at, quantity: micro(d.quantity) });
    });
    return fills;
  }
}

function loadRuleset(exportsDir, rulesetId, publicKeyPem) {
  const folder = path.join(exportsDir, rulesetId);
  const index = JSON.parse(fs.readFileSync(path.join(folder, "index.json"), "utf8"));
  const docs = index.versions.map((e) => {
    const { doc, problems } = verifyFile(path.join(folder, e.file), path.join(folder, "index.json"), publicKeyPem);
    if (problems.length) throw new Error(`${e.file}: ${problems[0]}`);
    return doc;
  });
  return new Ruleset(docs);
}

// -- claims files (§3) -----------------------------------------------------------------------
// §3: a `"` opens a quoted section only as a field's first character; after it closes, the rest
// of the field is read as it is, and a `"` elsewhere is an ordinary character.
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false, started = false, i = 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && !started) { quoted = true; started = true; }
    else if (ch === ",") { row.push(field); field = ""; started = false; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = ""; started = false;
    } else { field += ch; started = true; }
  }
  if (started || row.length) { row.push(field); rows.push(row); }
  // §3: a record of one field that is empty or only W (a blank line, `""`, spaces) is no claim.
  return rows.filter((r) => !(r.length === 1 && trim(r[0]) === ""));
}
const headerKey = (h) => channelKey(h);
const RAGGED = Symbol("more fields than the header");
const CLAIM_FIELDS = ["claim_id", "member_id", "product_id", "ndc", "rxcui", "channel", "quantity",
  "date_of_service", "concomitant_drugs", "attested_criteria"];
class Refused extends Error {}
// §3: the claims a claims CSV's bytes hold, each with its fields as text (a field not given is
// absent) and its claim_id defaulted; throws Refused for a file that is not a claims file. A
// history file (§5) is read alike, with a status and without a channel.
function readClaimsCsv(bytes, history = false) {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  if (!bytes.length || bytes.every((b) => b === 0x20 || (b >= 0x09 && b <= 0x0d))) throw new Refused("empty");
  if (bytes.subarray(0, 2).toString("latin1") === "PK" || bytes.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]))) throw new Refused("a spreadsheet");
  if (bytes.subarray(0, 65536).includes(0)) throw new Refused("NUL bytes");
  let text;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); }
  catch { throw new Refused("not UTF-8"); }
  const end = text.indexOf("\n");
  const headerLine = (end < 0 ? text : text.slice(0, end)).replace(/\r$/, "");
  const keys = (parseCsv(headerLine)[0] ?? []).map(headerKey);
  const fields = history ? [...CLAIM_FIELDS, "status"] : CLAIM_FIELDS;
  const missing = (history ? ["quantity"] : ["channel", "quantity"]).filter((k) => !keys.includes(k));
  if (!["product_id", "ndc", "rxcui"].some((k) => keys.includes(k))) missing.push("product_id, ndc or rxcui");
  if (missing.length) throw new Refused(`no ${missing.join(", ")} column`);
  const twice = fields.find((k) => keys.indexOf(k) !== keys.lastIndexOf(k));
  if (twice) throw new Refused(`two ${twice} columns`);
  const rows = end < 0 ? [] : parseCsv(text.slice(end + 1));
  return rows.map((r, i) => {
    const claim = {};
    keys.forEach((k, j) => { if (fields.includes(k) && given(r[j])) claim[k] = r[j]; });
    if (!given(claim.claim_id)) claim.claim_id = String(i + 1);
    return r.length !== keys.length ? { ...claim, [RAGGED]: true } : claim; // invalid, as dqm's
  });
}
function readClaims(file, history = false) {
  if (file.endsWith(".csv")) return readClaimsCsv(fs.readFileSync(file), history);
  const text = fs.readFileSync(file, "utf8");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

// §7: a decision as JSON: whole numbers as integers however large (the double's exact value,
// never 1e+21), none as null.
function decisionJson(d) {
  const value = (v) => (typeof v === "number" && Number.isInteger(v) && Math.abs(v) >= 2 ** 53 ? BigInt(v).toString() : JSON.stringify(v ?? null));
  return `{${Object.entries(d).map(([k, v]) => `${JSON.stringify(k)}:${value(v)}`).join(",")}}`;
}

// -- §8 conformance ----------------------------------------------------------------------------
function conformance(dir) {
  const failures = [];
  let checked = 0;
  const expect = (what, got, want) => {
    checked++;
    if (!Object.is(got, want) && JSON.stringify(got) !== JSON.stringify(want)) {
      failures.push(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  };
  loadWordTable(path.join(dir, "drug-words.json"));
  const norm = JSON.parse(fs.readFileSync(path.join(dir, "normalisation.json"), "utf8"));
  for (const c of norm.drug_words) expect(`words ${JSON.stringify(c.text)}`, words(c.text), c.words);
  for (const c of norm.ndc) expect(`ndc ${JSON.stringify(c.text)}`, readNdc(c.text), c.ndc);
  for (const c of norm.rxcui) expect(`rxcui ${JSON.stringify(c.text)}`, readRxcui(c.text), c.rxcui);
  for (const c of norm.quantity) {
    const q = given(c.text) ? readQuantity(c.text) : null;
    expect(`quantity ${JSON.stringify(c.text)}`, q === null ? null : jsonNumber(q), c.quantity);
    expect(`quantity valid ${JSON.stringify(c.text)}`, quantityInRange(q), c.valid);
  }
  for (const c of norm.date_of_service) expect(`date ${JSON.stringify(c.text)}`, readDate(c.text), c.date);
  for (const c of norm.channel) expect(`channel ${JSON.stringify(c.text)}`, readChannel(c.text), c.channel);
  for (const c of norm.product_id) expect(`product key ${JSON.stringify(c.text)}`, fold(trim(c.text)), c.key);
  for (const c of norm.claims_csv ?? []) {
    let got;
    try {
      got = readClaimsCsv(Buffer.from(c.csv, "utf8")).map((claim) => {
        const out = {};
        for (const k of CLAIM_FIELDS) if (k in claim) out[k] = claim[k];
        return claim[RAGGED] ? { ...out, more_fields: true } : out;
      });
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      got = null;
    }
    expect(`claims_csv "${c.name}"`, got, c.claims);
  }

  const hashFile = JSON.parse(fs.readFileSync(path.join(dir, "hashes.json"), "utf8"));
  for (const d of hashFile.documents) {
    const { sha256: _, ...body } = d.document;
    // §2: `canonical` is the document without its sha256 member (what sha256 hashes); `stored`
    // the file as published, with it; `content` the compact form content_sha256 hashes.
    expect(`canonical ${d.name}`, canonical(body), d.canonical);
    expect(`sha256 of canonical ${d.name}`, sha256(d.canonical), d.sha256);
    expect(`stored ${d.name}`, canonical(d.document), d.stored);
    expect(`sha256 of stored minus its line ${d.name}`, byteSha256(Buffer.from(d.stored, "utf8")), d.sha256);
    expect(`content ${d.name}`, contentForm(d.document), d.content);
    expect(`sha256 of content ${d.name}`, sha256(d.content), d.content_sha256);
    const h = hashes(d.document);
    expect(`sha256 ${d.name}`, h.sha256, d.sha256);
    expect(`content_sha256 ${d.name}`, h.content_sha256, d.content_sha256);
  }
  for (const f of hashFile.files) {
    const file = path.join(dir, f.file);
    const { doc, problems } = verifyFile(file, path.join(path.dirname(file), "index.json"));
    expect(`problems ${f.file}`, problems, []);
    expect(`sha256 ${f.file}`, doc.sha256, f.sha256);
    expect(`content_sha256 ${f.file}`, hashes(doc).content_sha256, f.content_sha256);
  }

  for (const name of fs.readdirSync(dir).filter((n) => /^decisions-.*\.json$/.test(n)).sort()) {
    const vectors = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
    const docs = vectors.versions.map((v) => {
      const doc = JSON.parse(fs.readFileSync(path.join(dir, v.file), "utf8"));
      expect(`${name} ${v.file} sha256`, hashes(doc).sha256, v.sha256);
      return doc;
    });
    const ruleset = new Ruleset(docs);
    for (const c of vectors.cases) {
      let got = null;
      try {
        got = ruleset.decide(c.claims, c.version, c.history ?? []);
      } catch (err) {
        if (!(err instanceof HistoryStop)) throw err;
      }
      // decisions null: the history stops the run (§5), nothing is decided.
      if (c.decisions === null || got === null) {
        expect(`${name} "${c.name}" stops the run`, got === null, c.decisions === null);
        continue;
      }
      expect(`${name} "${c.name}" decisions`, got.length, c.decisions.length);
      c.decisions.forEach((want, i) => {
        for (const field of vectors.compare) {
          expect(`${name} "${c.name}" claim ${i + 1} ${field}`, got[i][field], want[field]);
        }
      });
    }
  }
  return { checked, failures };
}

// -- command line ------------------------------------------------------------------------------
function main(argv) {
  const [command, ...rest] = argv;
  if (command === "verify" && rest.length >= 1) {
    const at = rest.indexOf("--public-key");
    const key = at >= 0 ? fs.readFileSync(rest[at + 1], "utf8") : null;
    const files = at >= 0 ? rest.filter((_, i) => i !== at && i !== at + 1) : rest;
    const { doc, problems } = verifyFile(files[0], files[1], key);
    if (problems.length) { console.error(`${files[0]}: ${problems.join("; ")}`); return 1; }
    console.log(`${files[0]}: ${doc.ruleset_id} v${doc.version}, sha256 and content_sha256 hold${files[1] ? ", as the index says" : ""}${key ? "; signed by the key's owner" : ""}.`);
    return 0;
  }
  if (command === "decide") {
    const opts = { exports: "exports", version: null };
    const files = [];
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === "--exports") opts.exports = rest[++i];
      else if (rest[i] === "--ruleset") opts.ruleset = rest[++i];
      else if (rest[i] === "--version") opts.version = Number(rest[++i]);
      else if (rest[i] === "--history") opts.history = rest[++i];
      else if (rest[i] === "--drug-words") loadWordTable(rest[++i]);
      else if (rest[i] === "--public-key") opts.publicKey = fs.readFileSync(rest[++i], "utf8");
      else files.push(rest[i]);
    }
    if (!opts.ruleset || files.length !== 1) return usage();
    const ruleset = loadRuleset(opts.exports, opts.ruleset, opts.publicKey);
    const history = opts.history ? readClaims(opts.history, true) : [];
    const out = ruleset.decide(readClaims(files[0]), opts.version, history).map(decisionJson);
    fs.writeSync(1, out.join("\n") + (out.length ? "\n" : ""));
    return 0;
  }
  if (command === "conformance" && rest.length === 1) {
    const { checked, failures } = conformance(rest[0]);
    if (failures.length) {
      console.error(`${failures.length} of ${checked} checks differ:`);
      for (const f of failures.slice(0, 20)) console.error(`  ${f}`);
      return 1;
    }
    console.log(`All ${checked} conformance checks agree.`);
    return 0;
  }
  return usage();
}
function usage() {
  console.error("usage: dqm-consumer.js verify VERSION.json [INDEX.json] [--public-key KEY.pem] | decide --exports DIR --ruleset ID [--version N] [--history FILLS] [--drug-words TABLE.json] [--public-key KEY.pem] CLAIMS | conformance DIR");
  return 2;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  const why = err instanceof Refused ? "refused the claims file: " : err instanceof HistoryStop ? "nothing decided: " : "";
  console.error(`dqm-consumer: ${why}${err.message}`);
  process.exitCode = 2;
}
