// Generates the OpenAPI definitions of the built-in kinds from the .d.ts files
// of kubernetes-types (which are themselves generated from Kubernetes' OpenAPI,
// with the descriptions as doc comments). The output is keyed by the names
// kube-apiserver uses (io.k8s.api.core.v1.Pod, ...) and shaped like its
// /openapi/v3 components: a property naming another definition is
// `{ allOf: [{ $ref }], description }`.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as TS from 'typescript';
import type { Schema } from './types.ts';
import { PATCH_META } from './patch-meta.ts';
import { EXTRA_DEFINITIONS, EXTRA_KINDS, EXTRA_PROPERTIES, INT_OR_STRING, numberSchema, SPECIAL_SHAPES } from './special-types.ts';

export const V3_REF_PREFIX = '#/components/schemas/';

/** Where kubernetes-types' modules live in Kubernetes' Go packages (the rest are io.k8s.api.<group>.<version>). */
const PACKAGES: Record<string, string> = {
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  'runtime': 'io.k8s.apimachinery.pkg.runtime',
  'version': 'io.k8s.apimachinery.pkg.version',
  'apiextensions/v1': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
};

/** The OpenAPI name prefix of a kubernetes-types module: 'apps/v1' -> 'io.k8s.api.apps.v1'. */
export function packageOfModule(module: string): string {
  return PACKAGES[module] ?? `io.k8s.api.${module.split('/').join('.')}`;
}

export function kubernetesTypesDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
}

function listDeclarationFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...listDeclarationFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`));
    else if (entry.name.endsWith('.d.ts')) out.push(prefix + entry.name);
  }
  return out.sort();
}

/** Generates every definition in kubernetes-types (dir defaults to the installed package). */
export function generateDefinitions(dir = kubernetesTypesDir()): Record<string, Schema> {
  // Loaded only here: the compiler is big and loadDefinitions() normally reads the cache.
  const ts = createRequire(import.meta.url)('typescript') as typeof TS;
  const definitions: Record<string, Schema> = { ...structuredClone(EXTRA_DEFINITIONS) };
  for (const file of listDeclarationFiles(dir)) {
    const module = file.slice(0, -'.d.ts'.length);
    const source = ts.createSourceFile(file, readFileSync(path.join(dir, file), 'utf8'), ts.ScriptTarget.Latest, true);
    new ModuleReader(ts, module, source).read(definitions);
  }
  const missing = danglingRefs(definitions);
  if (missing.length) throw new Error(`kubernetes-types: definitions referenced but not generated: ${missing.join(', ')}`);
  return definitions;
}

class ModuleReader {
  private readonly ts: typeof TS;
  private readonly module: string;
  private readonly source: TS.SourceFile;
  /** Local name -> OpenAPI definition name, for imports and this module's own declarations. */
  private readonly names = new Map<string, string>();

  constructor(ts: typeof TS, module: string, source: TS.SourceFile) {
    this.ts = ts;
    this.module = module;
    this.source = source;
  }

  read(into: Record<string, Schema>): void {
    const { ts } = this;
    const own = packageOfModule(this.module);
    for (const st of this.source.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const from = path.posix.join(path.posix.dirname(this.module), st.moduleSpecifier.text);
        const bindings = st.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) {
            this.names.set(el.name.text, `${packageOfModule(from)}.${(el.propertyName ?? el.name).text}`);
          }
        }
      } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
        this.names.set(st.name.text, `${own}.${st.name.text}`);
      }
    }
    for (const st of this.source.statements) {
      if (ts.isInterfaceDeclaration(st)) {
        const name = `${own}.${st.name.text}`;
        into[name] = this.interfaceSchema(name, st);
      } else if (ts.isTypeAliasDeclaration(st)) {
        const name = `${own}.${st.name.text}`;
        into[name] = this.aliasSchema(name, st);
      }
    }
  }

  private docOf(node: TS.Node): string | undefined {
    const docs = this.ts.getJSDocCommentsAndTags(node).filter((d): d is TS.JSDoc => this.ts.isJSDoc(d));
    const last = docs.at(-1);
    const text = last ? this.ts.getTextOfJSDocComment(last.comment)?.trim() : undefined;
    return text || undefined;
  }

  private aliasSchema(name: string, decl: TS.TypeAliasDeclaration): Schema {
    const shape = SPECIAL_SHAPES[name] ?? this.typeSchema(name, '', decl.type);
    return withDescription(this.docOf(decl), structuredClone(shape));
  }

  private interfaceSchema(name: string, decl: TS.InterfaceDeclaration): Schema {
    const { ts } = this;
    const special = SPECIAL_SHAPES[name];
    if (special) return withDescription(this.docOf(decl), structuredClone(special));
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    const literals: Record<string, string> = {};
    for (const member of decl.members) {
      if (!ts.isPropertySignature(member) || !member.type) {
        throw new Error(`kubernetes-types ${this.module}: unexpected member in ${decl.name.text}`);
      }
      const prop = propertyName(ts, member.name);
      if (ts.isLiteralTypeNode(member.type) && ts.isStringLiteral(member.type.literal)) {
        literals[prop] = member.type.literal.text;
      }
      properties[prop] = withDescription(this.docOf(member), this.typeSchema(name, prop, member.type));
      if (!member.questionToken) required.push(prop);
    }
    Object.assign(properties, structuredClone(EXTRA_PROPERTIES[name] ?? {}));
    for (const [prop, meta] of Object.entries(PATCH_META[name] ?? {})) {
      if (properties[prop]) properties[prop] = { ...properties[prop], ...meta };
    }
    const schema: Schema = withDescription(this.docOf(decl), { type: 'object' });
    if (Object.keys(properties).length) schema.properties = sortKeys(properties);
    if (required.length) schema.required = required;
    const gvk = EXTRA_KINDS[name] ?? kindOf(this.module, literals);
    if (gvk) schema['x-kubernetes-group-version-kind'] = gvk;
    return schema;
  }

  /** The schema of a type written in a property (or alias) of definition `owner`. */
  private typeSchema(owner: string, prop: string, node: TS.TypeNode): Schema {
    const { ts } = this;
    const where = () => `kubernetes-types ${owner}.${prop}: cannot map type '${node.getText(this.source)}'`;
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword: return { type: 'string' };
      case ts.SyntaxKind.BooleanKeyword: return { type: 'boolean' };
      case ts.SyntaxKind.NumberKeyword: return numberSchema(owner, prop);
    }
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return { type: 'string' };
    if (ts.isArrayTypeNode(node)) return { type: 'array', items: this.typeSchema(owner, prop, node.elementType) };
    if (ts.isUnionTypeNode(node)) {
      const kinds = node.types.map((t) => t.kind).sort();
      if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
        return { $ref: V3_REF_PREFIX + INT_OR_STRING };
      }
      throw new Error(where());
    }
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const ref = node.typeName.text;
      if (ref === 'Array' && node.typeArguments?.length === 1) {
        return { type: 'array', items: this.typeSchema(owner, prop, node.typeArguments[0]!) };
      }
      const target = this.names.get(ref);
      if (!target) throw new Error(where());
      return { $ref: V3_REF_PREFIX + target };
    }
    if (ts.isTypeLiteralNode(node) && node.members.length === 1) {
      const index = node.members[0]!;
      if (ts.isIndexSignatureDeclaration(index) && index.type) {
        return { type: 'object', additionalProperties: this.typeSchema(owner, prop, index.type) };
      }
    }
    throw new Error(where());
  }
}

function propertyName(ts: typeof TS, name: TS.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  throw new Error(`kubernetes-types: unexpected property name kind ${ts.SyntaxKind[name.kind]}`);
}

/** Adds a description; a bare $ref gets wrapped in allOf, as OpenAPI 3.0 ignores siblings of $ref. */
function withDescription(description: string | undefined, schema: Schema): Schema {
  if (!description) return schema;
  if (schema.$ref) return { allOf: [{ $ref: schema.$ref }], description };
  return { description, ...schema };
}

/** Top-level kinds have literal apiVersion and kind types ('apps/v1', 'Deployment'). */
function kindOf(module: string, literals: Record<string, string>): Schema['x-kubernetes-group-version-kind'] {
  const { apiVersion, kind } = literals;
  // meta/v1 types (APIGroup, Status, ...) are not kinds of any group.
  if (!apiVersion || !kind || module === 'meta/v1') return undefined;
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return [{ group, version: apiVersion.slice(slash + 1), kind }];
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Names of definitions that some $ref points at but that do not exist. */
export function danglingRefs(definitions: Record<string, Schema>): string[] {
  const missing = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) { v.forEach(visit); return; }
    if (!v || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (k === '$ref' && typeof child === 'string') {
        const name = child.slice(V3_REF_PREFIX.length);
        if (!definitions[name]) missing.add(name);
      } else visit(child);
    }
  };
  visit(definitions);
  return [...missing].sort();
}
