// Loads src/cri/api.proto into the service definitions grpc-js serves and calls.
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';

export const PROTO_PATH = fileURLToPath(new URL('./api.proto', import.meta.url));

/** Decoded messages keep proto field names, 64-bit ints as number, enums as names, all fields set. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** kubelet and containerd both allow 16 MiB CRI messages (grpc-js defaults to 4 MiB for receiving). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type CriServiceName = 'RuntimeService' | 'ImageService';

let cached: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  return cached;
}

export function serviceDefinition(service: CriServiceName): ServiceDefinition {
  const def = packageDefinition()[`runtime.v1.${service}`];
  // Message and enum definitions carry a `format`; services are plain method maps.
  if (!def || 'format' in def) {
    throw new Error(`CRI proto ${PROTO_PATH} has no service runtime.v1.${service}`);
  }
  return def as ServiceDefinition;
}

/** 'RunPodSandbox' -> 'runPodSandbox': the key handlers and client methods use. */
export function methodKey(rpcName: string): string {
  return rpcName.charAt(0).toLowerCase() + rpcName.slice(1);
}
