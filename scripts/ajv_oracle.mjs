// The services' own verdict on (schema, value) pairs, for tcdyn's differential test.
//
// Usage: node ajv_oracle.mjs <taskcluster source tree>
//   (the tree scripts/taskcluster.sh unpacked, with its node_modules: ajv, ajv-formats, ...)
//
// Each schema set is validated as a Taskcluster service validates: through the tree's own
// @taskcluster/lib-validate (libraries/validate/src/index.js), whose SchemaSet makes ajv with
// Taskcluster's options, ajv-formats and the draft-06 metaschema, one set per service.
// Protocol: one JSON value per line on stdin, one answer per line on stdout.
//   {"load": {"name": N, "service": S, "folder": F, "rootUrl": R}}
//       a SchemaSet of the schema files under F (abstract, without $id) for service S,
//       named N -> {"ok": true} or {"error": "..."}
//   {"check": [[N, id, value], ...]}
//       -> {"verdicts": [true | false | "error: ...", ...]}: `id` is the schema's URL
//       (R/schemas/S/v1/x.json#), each value validated as the service would validate it
//   {"regex": [[source, flags], ...]} -> {"verdicts": [true | false]}: new RegExp compiles
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const tree = process.argv[2];
if (!tree) {
  process.stderr.write('usage: node ajv_oracle.mjs <taskcluster tree>\n');
  process.exit(2);
}
const libValidate = path.join(tree, 'libraries', 'validate', 'src', 'index.js');
const { default: SchemaSet } = await import(pathToFileURL(libValidate).href);

const validators = new Map();

async function load({ name, service, folder, rootUrl }) {
  const set = new SchemaSet({ serviceName: service, folder });
  validators.set(name, await set.validator(rootUrl));
  return { ok: true };
}

function check(items) {
  return {
    verdicts: items.map(([name, id, value]) => {
      const validate = validators.get(name);
      if (!validate) {
        return `error: no schema set ${name}`;
      }
      try {
        return validate(value, id) === null;
      } catch (e) {
        return `error: ${e.message}`;
      }
    }),
  };
}

function regex(items) {
  return {
    verdicts: items.map(([source, flags]) => {
      try {
        new RegExp(source, flags);
        return true;
      } catch {
        return false;
      }
    }),
  };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) {
    continue;
  }
  let answer;
  try {
    const request = JSON.parse(line);
    if (request.load) {
      answer = await load(request.load);
    } else if (request.check) {
      answer = check(request.check);
    } else if (request.regex) {
      answer = regex(request.regex);
    } else {
      answer = { error: 'unknown request' };
    }
  } catch (e) {
    answer = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
