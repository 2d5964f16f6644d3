// The console's SMS counter (console/src/sms.ts) against tests/vectors/sms.json, the vectors the
// Rust `analyse` of shared's sms module is held to as well: one rule, two implementations, one file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const bundle = await build({
  entryPoints: [new URL("./src/sms.ts", import.meta.url).pathname],
  bundle: true, format: "esm", write: false, logLevel: "warning",
});
const { analyse } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

const { cases } = JSON.parse(readFileSync(new URL("../tests/vectors/sms.json", import.meta.url), "utf8"));

test("the vector file holds cases", () => {
  assert.ok(cases.length > 0);
});

for (const c of cases) {
  test(`${c.name}`, () => {
    const info = analyse(c.text);
    assert.deepEqual(
      { characters: info.characters, encoding: info.encoding, segments: info.segments, ucs2_characters: info.ucs2Characters },
      { characters: c.characters, encoding: c.encoding, segments: c.segments, ucs2_characters: c.ucs2_characters },
    );
  });
}
