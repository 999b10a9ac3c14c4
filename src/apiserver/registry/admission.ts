// The per-kind checks the registry runs on every write, behind one interface so
// the registry does not know which module knows each kind (built-in defaults and
// validation, CRD structural schemas, field managers).
import type { KubeObject, ResourceInfo, StatusCause } from '../../api/types.ts';
import type { Schema, SchemaResolver } from '../../api/schema/types.ts';
import type { UserInfo } from '../auth.ts';

export interface Admission {
  /** Fills defaults into a fresh object the server owns. */
  default(r: ResourceInfo, obj: KubeObject): void;
  /** Validation causes (empty when valid); old is given on update. */
  validate(r: ResourceInfo, obj: KubeObject, old?: KubeObject): StatusCause[];
  /**
   * Fields the kind's schema does not know, as `.spec.foo` paths. For custom resources
   * they are also pruned from obj (Kubernetes drops them); built-ins keep obj as is.
   */
  unknownFields(r: ResourceInfo, obj: KubeObject): string[];
  /** The kind's schema, for strategic merge patch and server-side apply (undefined: unknown). */
  schema(r: ResourceInfo): { root: Schema | undefined; resolver: SchemaResolver | undefined };
  /** Allocations a create needs (a Service's clusterIP and node ports). */
  allocate?(r: ResourceInfo, obj: KubeObject, old?: KubeObject): Promise<void>;
  /** Frees what allocate reserved, once the object is gone from the store. */
  release?(r: ResourceInfo, obj: KubeObject): Promise<void>;
}

export const permissiveAdmission: Admission = {
  default: () => {},
  validate: () => [],
  unknownFields: () => [],
  schema: () => ({ root: undefined, resolver: undefined }),
};

/**
 * Admission that depends on who writes (kube's NodeRestriction, a CSR's requester): runs on every
 * create and update a user makes, may fill in obj, and throws an ApiError to refuse.
 */
export type UserAdmission = (a: {
  operation: 'create' | 'update';
  r: ResourceInfo;
  obj: KubeObject;
  old?: KubeObject;
  subresource: string;
  user: UserInfo;
}) => void;
