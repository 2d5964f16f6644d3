// The console's words in English and Polish, chosen from the browser's language (Polish for any
// `pl` language, else English). Each part of the console defines its own strings with
// `strings(en, pl)`; the Polish table must name every English key (the compiler checks it).

/** The language the console speaks: `pl` or `en`. */
export const lang: "en" | "pl" = (navigator.languages?.[0] ?? navigator.language ?? "en").toLowerCase().startsWith("pl")
  ? "pl"
  : "en";

document.documentElement.lang = lang;

/** Values put into a string where it says `{name}`. */
export type Vars = Record<string, string | number>;

/**
 * A translator over one table of strings: `t("key", {n: 3})` answers the key's text in the
 * console's language with `{n}` replaced.
 */
export function strings<K extends string>(en: Record<K, string>, pl: Record<K, string>): (key: K, vars?: Vars) => string {
  const table = lang === "pl" ? pl : en;
  return (key, vars) => table[key].replace(/\{(\w+)\}/g, (whole, name: string) => (vars && name in vars ? String(vars[name]) : whole));
}

/** A number in the console's language's format. */
export function formatNumber(n: number): string {
  return n.toLocaleString(lang);
}

/** A time as the console's language writes it (date and time, short). */
export function formatTime(time: string): string {
  return new Date(time).toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });
}
