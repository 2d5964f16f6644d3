// Lengths of time as the console writes them ("12 min"), in its language.

import { strings } from "./i18n";

const t = strings(
  { s: "{n} s", min: "{n} min", h: "{n} h", d: "{n} d" },
  { s: "{n} s", min: "{n} min", h: "{n} godz.", d: "{n} dn." },
);

/** The time since `time`, rounded down to its largest unit. */
export function since(time: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(time)) / 1000));
  if (s < 60) return t("s", { n: s });
  if (s < 3600) return t("min", { n: Math.floor(s / 60) });
  if (s < 86400) return t("h", { n: Math.floor(s / 3600) });
  return t("d", { n: Math.floor(s / 86400) });
}
