// Next run times of cron expressions, evaluated in UTC with iii-cron's format: six fields
// "sec min hour day-of-month month day-of-week" (or seven, with a trailing year), day-of-week
// 1-7 with 1 = Sunday, names (JAN, Mon-Fri), lists, ranges, steps and @daily-style shorthands.

const SHORTHANDS = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 1",
  "@daily": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const LIMITS = [[0, 59], [0, 59], [0, 23], [1, 31], [1, 12], [1, 7], [1970, 2099]];

function value(text, field) {
  const lower = text.toLowerCase();
  if (field === 4 && MONTHS.includes(lower.slice(0, 3))) return MONTHS.indexOf(lower.slice(0, 3)) + 1;
  if (field === 5 && DAYS.includes(lower.slice(0, 3))) return DAYS.indexOf(lower.slice(0, 3)) + 1;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`bad value ${text}`);
  return n;
}

function parseField(text, field) {
  const [lo, hi] = LIMITS[field];
  const allowed = new Set();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText ? Number(stepText) : 1;
    let start = lo;
    let end = hi;
    if (range !== "*" && range !== "?") {
      const [a, b] = range.split("-");
      start = value(a, field);
      end = b !== undefined ? value(b, field) : stepText ? hi : start;
    }
    if (start < lo || end > hi || step < 1) throw new Error(`out of range: ${part}`);
    for (let v = start; v <= end; v += step) allowed.add(v);
  }
  return allowed;
}

export function parseCron(expression) {
  const text = SHORTHANDS[expression.trim().toLowerCase()] ?? expression.trim();
  const fields = text.split(/\s+/);
  if (fields.length !== 6 && fields.length !== 7) throw new Error("expected 6 or 7 fields");
  return fields.map((f, i) => parseField(f, i));
}

/** The next `count` fire times strictly after `from` (a Date), in UTC. */
export function nextRuns(expression, count = 3, from = new Date()) {
  const [sec, min, hour, dom, month, dow, year] = parseCron(expression);
  const out = [];
  const t = new Date(Math.floor(from.getTime() / 1000) * 1000 + 1000);
  const stop = from.getTime() + 5 * 366 * 86400e3;
  while (out.length < count && t.getTime() < stop) {
    if (year && !year.has(t.getUTCFullYear())) {
      t.setUTCFullYear(t.getUTCFullYear() + 1, 0, 1);
      t.setUTCHours(0, 0, 0);
    } else if (!month.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0);
    } else if (!dom.has(t.getUTCDate()) || !dow.has(t.getUTCDay() + 1)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0);
    } else if (!hour.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0);
    } else if (!min.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0);
    } else if (!sec.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1);
    } else {
      out.push(new Date(t));
      t.setUTCSeconds(t.getUTCSeconds() + 1);
    }
  }
  return out;
}
