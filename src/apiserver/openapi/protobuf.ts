// /openapi/v2 as protobuf: the gnostic openapi.v2.Document message
// (github.com/google/gnostic, openapiv2/OpenAPIv2.proto), which is the only
// form kubectl asks for (Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf).
// Only the messages a Kubernetes document uses are declared; field numbers are
// gnostic's. Vendor extensions (x-kubernetes-*) and free-form values (default,
// enum, example) travel as NamedAny / Any with the value written as YAML.
import protobuf from 'protobufjs';

type Fields = Record<string, [id: number, type: string, rule?: 'repeated']>;

function message(fields: Fields, oneofs?: Record<string, string[]>): protobuf.INamespace & { fields: Record<string, protobuf.IField> } {
  return {
    fields: Object.fromEntries(Object.entries(fields).map(([name, [id, type, rule]]) => [name, { id, type, ...(rule ? { rule } : {}) }])),
    ...(oneofs ? { oneofs: Object.fromEntries(Object.entries(oneofs).map(([n, f]) => [n, { oneof: f }])) } : {}),
  };
}

const R = 'repeated' as const;
const ext = (id: number): [number, string, 'repeated'] => [id, 'NamedAny', R];
// Parameter sub-schemas share their layout up to `items`; query has allowEmptyValue at 5 and shifts the rest by one.
const paramFields = (shift: number): Fields => ({
  required: [1, 'bool'], in: [2, 'string'], description: [3, 'string'], name: [4, 'string'],
  type: [5 + shift, 'string'], format: [6 + shift, 'string'], uniqueItems: [19 + shift, 'bool'], vendorExtension: ext(22 + shift),
});

const root = protobuf.Root.fromJSON({
  nested: {
    openapi: { nested: { v2: { nested: {
      Document: message({
        swagger: [1, 'string'], info: [2, 'Info'], host: [3, 'string'], basePath: [4, 'string'], schemes: [5, 'string', R],
        consumes: [6, 'string', R], produces: [7, 'string', R], paths: [8, 'Paths'], definitions: [9, 'Definitions'],
        security: [12, 'SecurityRequirement', R], securityDefinitions: [13, 'SecurityDefinitions'], vendorExtension: ext(16),
      }),
      Info: message({ title: [1, 'string'], version: [2, 'string'], description: [3, 'string'], vendorExtension: ext(7) }),
      Any: message({ yaml: [2, 'string'] }),
      NamedAny: message({ name: [1, 'string'], value: [2, 'Any'] }),
      Paths: message({ vendorExtension: ext(1), path: [2, 'NamedPathItem', R] }),
      NamedPathItem: message({ name: [1, 'string'], value: [2, 'PathItem'] }),
      PathItem: message({
        ref: [1, 'string'], get: [2, 'Operation'], put: [3, 'Operation'], post: [4, 'Operation'], delete: [5, 'Operation'],
        options: [6, 'Operation'], head: [7, 'Operation'], patch: [8, 'Operation'], parameters: [9, 'ParametersItem', R],
        vendorExtension: ext(10),
      }),
      Operation: message({
        tags: [1, 'string', R], summary: [2, 'string'], description: [3, 'string'], operationId: [5, 'string'],
        produces: [6, 'string', R], consumes: [7, 'string', R], parameters: [8, 'ParametersItem', R],
        responses: [9, 'Responses'], schemes: [10, 'string', R], deprecated: [11, 'bool'], vendorExtension: ext(13),
      }),
      ParametersItem: message({ parameter: [1, 'Parameter'], jsonReference: [2, 'JsonReference'] }, { oneof: ['parameter', 'jsonReference'] }),
      JsonReference: message({ ref: [1, 'string'], description: [2, 'string'] }),
      Parameter: message({ bodyParameter: [1, 'BodyParameter'], nonBodyParameter: [2, 'NonBodyParameter'] }, { oneof: ['bodyParameter', 'nonBodyParameter'] }),
      BodyParameter: message({
        description: [1, 'string'], name: [2, 'string'], in: [3, 'string'], required: [4, 'bool'], schema: [5, 'Schema'], vendorExtension: ext(6),
      }),
      NonBodyParameter: message(
        { headerParameterSubSchema: [1, 'HeaderParameterSubSchema'], queryParameterSubSchema: [3, 'QueryParameterSubSchema'], pathParameterSubSchema: [4, 'PathParameterSubSchema'] },
        { oneof: ['headerParameterSubSchema', 'queryParameterSubSchema', 'pathParameterSubSchema'] }),
      HeaderParameterSubSchema: message(paramFields(0)),
      PathParameterSubSchema: message(paramFields(0)),
      QueryParameterSubSchema: message({ ...paramFields(1), allowEmptyValue: [5, 'bool'] }),
      Responses: message({ responseCode: [1, 'NamedResponseValue', R], vendorExtension: ext(2) }),
      NamedResponseValue: message({ name: [1, 'string'], value: [2, 'ResponseValue'] }),
      ResponseValue: message({ response: [1, 'Response'], jsonReference: [2, 'JsonReference'] }, { oneof: ['response', 'jsonReference'] }),
      Response: message({ description: [1, 'string'], schema: [2, 'SchemaItem'], vendorExtension: ext(5) }),
      SchemaItem: message({ schema: [1, 'Schema'] }, { oneof: ['schema'] }),
      Definitions: message({ additionalProperties: [1, 'NamedSchema', R] }),
      Properties: message({ additionalProperties: [1, 'NamedSchema', R] }),
      NamedSchema: message({ name: [1, 'string'], value: [2, 'Schema'] }),
      AdditionalPropertiesItem: message({ schema: [1, 'Schema'], boolean: [2, 'bool'] }, { oneof: ['schema', 'boolean'] }),
      TypeItem: message({ value: [1, 'string', R] }),
      ItemsItem: message({ schema: [1, 'Schema', R] }),
      Schema: message({
        ref: [1, 'string'], format: [2, 'string'], title: [3, 'string'], description: [4, 'string'], default: [5, 'Any'],
        multipleOf: [6, 'double'], maximum: [7, 'double'], exclusiveMaximum: [8, 'bool'], minimum: [9, 'double'],
        exclusiveMinimum: [10, 'bool'], maxLength: [11, 'int64'], minLength: [12, 'int64'], pattern: [13, 'string'],
        maxItems: [14, 'int64'], minItems: [15, 'int64'], uniqueItems: [16, 'bool'], maxProperties: [17, 'int64'],
        minProperties: [18, 'int64'], required: [19, 'string', R], enum: [20, 'Any', R],
        additionalProperties: [21, 'AdditionalPropertiesItem'], type: [22, 'TypeItem'], items: [23, 'ItemsItem'],
        allOf: [24, 'Schema', R], properties: [25, 'Properties'], discriminator: [26, 'string'], readOnly: [27, 'bool'],
        example: [30, 'Any'], vendorExtension: ext(31),
      }),
      SecurityRequirement: message({ additionalProperties: [1, 'NamedStringArray', R] }),
      NamedStringArray: message({ name: [1, 'string'], value: [2, 'StringArray'] }),
      StringArray: message({ value: [1, 'string', R] }),
      SecurityDefinitions: message({ additionalProperties: [1, 'NamedSecurityDefinitionsItem', R] }),
      NamedSecurityDefinitionsItem: message({ name: [1, 'string'], value: [2, 'SecurityDefinitionsItem'] }),
      SecurityDefinitionsItem: message({ apiKeySecurity: [2, 'ApiKeySecurity'] }, { oneof: ['apiKeySecurity'] }),
      ApiKeySecurity: message({ type: [1, 'string'], name: [2, 'string'], in: [3, 'string'], description: [4, 'string'], vendorExtension: ext(5) }),
    } } } },
  },
});

export const DocumentType = root.lookupType('openapi.v2.Document');

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// JSON is YAML (flow style, double-quoted strings), and a thousand times
// faster to write than block YAML for the ~10k extensions of a document.
function any(value: unknown): Json {
  return { yaml: JSON.stringify(value) };
}

/** The x- keys of a JSON object as NamedAny messages. */
function extensions(o: Json): Json[] {
  return Object.entries(o).filter(([k]) => k.startsWith('x-')).map(([name, value]) => ({ name, value: any(value) }));
}

const SCHEMA_SCALARS = ['format', 'title', 'description', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties',
  'minProperties', 'required', 'discriminator', 'readOnly'];

function schemaMessage(s: Json): Json {
  const m: Json = {};
  if (typeof s.$ref === 'string') m.ref = s.$ref;
  for (const key of SCHEMA_SCALARS) if (s[key] !== undefined) m[key] = s[key];
  if (s.default !== undefined) m.default = any(s.default);
  if (s.example !== undefined) m.example = any(s.example);
  if (Array.isArray(s.enum)) m.enum = s.enum.map(any);
  if (s.type !== undefined) m.type = { value: Array.isArray(s.type) ? s.type : [s.type] };
  if (typeof s.additionalProperties === 'boolean') m.additionalProperties = { boolean: s.additionalProperties };
  else if (isObject(s.additionalProperties)) m.additionalProperties = { schema: schemaMessage(s.additionalProperties) };
  if (s.items !== undefined) m.items = { schema: (Array.isArray(s.items) ? s.items : [s.items]).map((i) => schemaMessage(i as Json)) };
  if (Array.isArray(s.allOf)) m.allOf = s.allOf.map((i) => schemaMessage(i as Json));
  if (isObject(s.properties)) m.properties = { additionalProperties: namedSchemas(s.properties) };
  const ext = extensions(s);
  if (ext.length) m.vendorExtension = ext;
  return m;
}

function namedSchemas(o: Json): Json[] {
  return Object.entries(o).map(([name, value]) => ({ name, value: schemaMessage(value as Json) }));
}

function parameterMessage(p: Json): Json {
  if (p.in === 'body') {
    return { parameter: { bodyParameter: {
      description: p.description, name: p.name, in: p.in, required: p.required === true,
      schema: isObject(p.schema) ? schemaMessage(p.schema) : undefined,
    } } };
  }
  const sub: Json = { required: p.required === true, in: p.in, description: p.description, name: p.name, type: p.type,
    format: p.format, uniqueItems: p.uniqueItems === true };
  const ext = extensions(p);
  if (ext.length) sub.vendorExtension = ext;
  const which = p.in === 'query' ? 'queryParameterSubSchema' : p.in === 'path' ? 'pathParameterSubSchema' : 'headerParameterSubSchema';
  return { parameter: { nonBodyParameter: { [which]: sub } } };
}

function operationMessage(op: Json): Json {
  const responses = isObject(op.responses) ? op.responses : {};
  return {
    tags: op.tags, summary: op.summary, description: op.description, operationId: op.operationId,
    produces: op.produces, consumes: op.consumes, schemes: op.schemes, deprecated: op.deprecated,
    parameters: Array.isArray(op.parameters) ? op.parameters.map((p) => parameterMessage(p as Json)) : undefined,
    responses: {
      responseCode: Object.entries(responses).map(([code, r]) => {
        const res = r as Json;
        return { name: code, value: { response: {
          description: res.description,
          ...(isObject(res.schema) ? { schema: { schema: schemaMessage(res.schema) } } : {}),
        } } };
      }),
    },
    vendorExtension: extensions(op),
  };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function pathItemMessage(item: Json): Json {
  const m: Json = {};
  for (const method of METHODS) if (isObject(item[method])) m[method] = operationMessage(item[method]);
  if (Array.isArray(item.parameters)) m.parameters = item.parameters.map((p) => parameterMessage(p as Json));
  const ext = extensions(item);
  if (ext.length) m.vendorExtension = ext;
  return m;
}

/** The gnostic message object (before encoding) of a Swagger 2.0 document as buildOpenAPIv2 returns it. */
export function documentMessage(doc: Json): Json {
  const info = isObject(doc.info) ? doc.info : {};
  const securityDefinitions = isObject(doc.securityDefinitions) ? doc.securityDefinitions : {};
  return {
    swagger: doc.swagger,
    info: { title: info.title, version: info.version, description: info.description },
    paths: { path: Object.entries(isObject(doc.paths) ? doc.paths : {}).map(([name, item]) => ({ name, value: pathItemMessage(item as Json) })) },
    definitions: { additionalProperties: namedSchemas(isObject(doc.definitions) ? doc.definitions : {}) },
    security: Array.isArray(doc.security)
      ? doc.security.map((req) => ({ additionalProperties: Object.entries(req as Json).map(([name, scopes]) => ({ name, value: { value: scopes } })) }))
      : undefined,
    securityDefinitions: {
      additionalProperties: Object.entries(securityDefinitions)
        .filter(([, d]) => (d as Json).type === 'apiKey')
        .map(([name, d]) => ({ name, value: { apiKeySecurity: d } })),
    },
    vendorExtension: extensions(doc),
  };
}

export function encodeDocument(doc: object): Uint8Array {
  return DocumentType.encode(documentMessage(doc as Json)).finish();
}
