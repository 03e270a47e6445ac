// Validates Gateway API objects against the OpenAPI schemas of @kubernetes-models/gateway-api (generated from
// the Gateway API's own types; which release it tracks: tests/infra/test_gateway_routes.py), with the schemas
// closed: a field the schema does not know fails, where the API server would silently drop it.
//
// The package ships its schemas compiled into validate functions, so additionalProperties: false cannot be added
// to them. The check closes them by probing instead: each field of the object, one at a time, is given a value of
// the wrong type; a field the schema knows is then reported at its own path, a field it does not know is not.
//
// Input (stdin): a JSON list of objects. Output (stdout): a JSON list of {name, errors} (errors empty when valid).
import { Gateway } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";

const MODELS = { Gateway, HTTPRoute };

function errorsOf(Model, object) {
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return error.errors ?? [{ instancePath: "", message: String(error) }];
  }
}

const pointer = (path) => path.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");

function* fieldPaths(value, path = []) {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* fieldPaths(item, [...path, i]);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      yield [...path, key];
      yield* fieldPaths(item, [...path, key]);
    }
  }
}

function withValue(object, path, value) {
  const copy = structuredClone(object);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path.at(-1)] = value;
  return copy;
}

function unknownFields(Model, object) {
  const unknown = [];
  for (const path of fieldPaths(object)) {
    const original = path.reduce((node, key) => node[key], object);
    const probe = typeof original === "boolean" ? "not-a-boolean" : true;
    const where = pointer(path);
    const seen = errorsOf(Model, withValue(object, path, probe)).some(
      (e) => e.instancePath === where || e.instancePath.startsWith(where + "/"),
    );
    if (!seen) unknown.push(`${where}: not a field of ${object.kind} (misspelt?)`);
  }
  return unknown;
}

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));
const results = input.map((object) => {
  const Model = MODELS[object.kind];
  const name = `${object.kind}/${object.metadata?.name}`;
  if (!Model || object.apiVersion !== "gateway.networking.k8s.io/v1") {
    return { name, errors: [`not a gateway.networking.k8s.io/v1 Gateway or HTTPRoute: ${object.apiVersion}`] };
  }
  const errors = errorsOf(Model, object).map((e) => `${e.instancePath || "/"}: ${e.message}`);
  return { name, errors: errors.length ? errors : unknownFields(Model, object) };
});
process.stdout.write(JSON.stringify(results));
