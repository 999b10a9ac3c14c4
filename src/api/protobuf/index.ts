// Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf), as kubectl's typed clients send them.
// https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
export { decodeKubernetesProtobuf } from './decode.ts';
export { encodeKubernetesProtobuf } from './encode.ts';

/** The media type of a Kubernetes protobuf body. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
