// Label and field selectors, as kube-apiserver parses, checks and matches them.
export { SelectorError } from './errors.ts';
export {
  type LabelOperator, type LabelRequirement, type LabelSelector,
  parseLabelSelector, labelSelectorFromMeta, labelSelectorFromSet, newRequirement, matchesLabels, isEverything,
  labelSelectorString, formatLabels, formatLabelSelector,
} from './labels.ts';
export {
  type FieldRequirement, type FieldSelector,
  parseFieldSelector, matchesFields, escapeFieldValue, fieldSelectorString,
} from './fields.ts';
export { type FieldLabelOptions, fieldsOf, checkFieldSelector } from './selectable-fields.ts';
