// Checking a JSON document against a schema of the API's own OpenAPI document
// (components.schemas), so the editor can say what is wrong before saving.
// It covers the JSON Schema keywords pydantic writes; the API stays the judge
// (its 400 names the fields the same way: "steps.0.where").

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(expected, value) {
  const actual = typeOf(value);
  if (expected === "number") return actual === "number" || actual === "integer";
  return expected === actual;
}

function join(path, key) {
  return path === "" ? String(key) : `${path}.${key}`;
}

export class SchemaChecker {
  constructor(openapi) {
    this.components = (openapi.components && openapi.components.schemas) || {};
  }

  resolve(schema) {
    let current = schema;
    while (current && current.$ref) {
      const name = current.$ref.split("/").pop();
      current = this.components[name];
    }
    return current || {};
  }

  /** Problems of `value` against the named component: [{field, message}]. */
  check(componentName, value) {
    const errors = [];
    this.visit(this.components[componentName] || {}, value, "", errors);
    return errors.map((e) => ({ field: e.field || "body", message: e.message }));
  }

  matches(schema, value) {
    const errors = [];
    this.visit(schema, value, "", errors);
    return errors.length === 0;
  }

  visit(rawSchema, value, path, errors) {
    const schema = this.resolve(rawSchema);
    if (schema.anyOf || schema.oneOf) {
      const options = schema.anyOf || schema.oneOf;
      if (!options.some((option) => this.matches(option, value))) {
        const concrete = options.map((o) => this.resolve(o)).filter((o) => o.type !== "null");
        if (concrete.length === 1 && value !== null) {
          this.visit(concrete[0], value, path, errors);
        } else {
          const kinds = options.map((o) => this.resolve(o).type || "value").join(" or ");
          errors.push({ field: path, message: `must be ${kinds}` });
        }
      }
      return;
    }
    if (schema.allOf) {
      for (const part of schema.allOf) this.visit(part, value, path, errors);
    }
    if (schema.const !== undefined && value !== schema.const) {
      errors.push({ field: path, message: `must be ${JSON.stringify(schema.const)}` });
      return;
    }
    if (schema.enum && !schema.enum.includes(value)) {
      errors.push({ field: path, message: `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}` });
      return;
    }
    if (schema.type) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => typeMatches(t, value))) {
        errors.push({ field: path, message: `must be ${types.join(" or ")}, not ${typeOf(value)}` });
        return;
      }
    }
    const kind = typeOf(value);
    if (kind === "string") this.visitString(schema, value, path, errors);
    if (kind === "number" || kind === "integer") this.visitNumber(schema, value, path, errors);
    if (kind === "array") this.visitArray(schema, value, path, errors);
    if (kind === "object") this.visitObject(schema, value, path, errors);
  }

  visitString(schema, value, path, errors) {
    if (schema.minLength !== undefined && value.trim().length < schema.minLength) {
      errors.push({ field: path, message: schema.minLength === 1 ? "must not be empty" : `must have at least ${schema.minLength} characters` });
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      errors.push({ field: path, message: `must have at most ${schema.maxLength} characters` });
    }
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) {
      errors.push({ field: path, message: `must match ${schema.pattern}` });
    }
  }

  visitNumber(schema, value, path, errors) {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ field: path, message: `must be at least ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum) errors.push({ field: path, message: `must be at most ${schema.maximum}` });
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) errors.push({ field: path, message: `must be greater than ${schema.exclusiveMinimum}` });
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) errors.push({ field: path, message: `must be less than ${schema.exclusiveMaximum}` });
  }

  visitArray(schema, value, path, errors) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push({ field: path, message: `must have at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({ field: path, message: `must have at most ${schema.maxItems} items` });
    }
    if (schema.items) value.forEach((item, index) => this.visit(schema.items, item, join(path, index), errors));
  }

  visitObject(schema, value, path, errors) {
    const properties = schema.properties || {};
    for (const name of schema.required || []) {
      if (!(name in value)) errors.push({ field: join(path, name), message: "is required" });
    }
    for (const [name, item] of Object.entries(value)) {
      if (properties[name]) this.visit(properties[name], item, join(path, name), errors);
      else if (schema.additionalProperties === false) {
        errors.push({ field: join(path, name), message: "is not a field of this object" });
      } else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
        this.visit(schema.additionalProperties, item, join(path, name), errors);
      }
    }
  }
}

/** Where a JSON.parse error happened, as "line L, column C" (when it says). */
export function parseErrorPlace(text, error) {
  const match = /position (\d+)/.exec(error.message);
  if (!match) {
    const lineMatch = /line (\d+) column (\d+)/.exec(error.message);
    return lineMatch ? { line: Number(lineMatch[1]), column: Number(lineMatch[2]) } : null;
  }
  const offset = Number(match[1]);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1, offset };
}
