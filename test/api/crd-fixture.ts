// A CronTab CustomResourceDefinition in the spirit of the one in the
// Kubernetes docs, extended to exercise every schema feature the server uses.
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.d.ts';
import type { Schema } from '../../src/api/schema/types.ts';

export const CRONTAB_SCHEMA: Schema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['cronSpec'],
      properties: {
        cronSpec: { type: 'string', pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' },
        image: { type: 'string', minLength: 1 },
        replicas: { type: 'integer', format: 'int32', minimum: 1, maximum: 10, default: 1 },
        size: { type: 'string', enum: ['small', 'large'] },
        startAt: { type: 'string', format: 'date-time' },
        ports: {
          type: 'array',
          maxItems: 3,
          items: {
            type: 'object',
            required: ['port'],
            properties: {
              name: { type: 'string', maxLength: 15 },
              port: { type: 'integer', format: 'int32' },
              protocol: { type: 'string', default: 'TCP' },
            },
          },
        },
        config: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          properties: { mode: { type: 'string', default: 'auto' } },
        },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
        targetPort: { 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true },
      },
    },
    status: {
      type: 'object',
      properties: { replicas: { type: 'integer' }, labelSelector: { type: 'string' } },
    },
  },
};

export function cronTabCRD(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'crontabs.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'], categories: ['all'] },
      versions: [
        {
          name: 'v1beta1', served: true, storage: false,
          schema: { openAPIV3Schema: structuredClone(CRONTAB_SCHEMA) as never },
        },
        {
          name: 'v1', served: true, storage: true,
          schema: { openAPIV3Schema: structuredClone(CRONTAB_SCHEMA) as never },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' },
          },
          additionalPrinterColumns: [
            { name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' },
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          ],
        },
        { name: 'v1alpha1', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
    },
  };
}

export function validCronTab(): Record<string, unknown> {
  return {
    apiVersion: 'stable.example.com/v1',
    kind: 'CronTab',
    metadata: { name: 'my-new-cron-object', namespace: 'default' },
    spec: {
      cronSpec: '* * * * */5',
      image: 'my-awesome-cron-image',
      replicas: 3,
      size: 'small',
      startAt: '2024-05-01T10:00:00Z',
      ports: [{ name: 'http', port: 8080 }],
      labels: { team: 'a' },
      targetPort: 'http',
      note: null,
    },
  };
}
