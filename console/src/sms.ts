// SMS text as the channel counts it (the same rules as shared/src/sms.rs): GSM-7 or UCS-2, and
// the number of parts, never splitting an escape pair or a surrogate pair.

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";
export const MAX_CHARACTERS = 1600;

export interface TextInfo {
  characters: number;
  encoding: "gsm7" | "ucs2";
  segments: number;
  ucs2Characters: string[];
}

export function analyse(text: string): TextInfo {
  const chars = Array.from(text);
  const ucs2Characters: string[] = [];
  for (const c of chars) {
    if (!GSM7_BASIC.includes(c) && !GSM7_EXTENSION.includes(c) && !ucs2Characters.includes(c)) {
      ucs2Characters.push(c);
    }
  }
  const encoding = ucs2Characters.length === 0 ? "gsm7" : "ucs2";
  const units = chars.map((c) => (encoding === "gsm7" ? (GSM7_EXTENSION.includes(c) ? 2 : 1) : c.length));
  const [single, multi] = encoding === "gsm7" ? [160, 153] : [70, 67];
  const total = units.reduce((a, b) => a + b, 0);
  let segments = 1;
  if (total > single) {
    let used = 0;
    for (const u of units) {
      if (used + u > multi) {
        segments += 1;
        used = 0;
      }
      used += u;
    }
  }
  return { characters: chars.length, encoding, segments, ucs2Characters };
}
