// What a label key and a label value may look like, with the messages
// kube-apiserver (1.32) gives for ones that do not fit.
// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set

const nameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const nameRe = new RegExp(`^${nameFmt}$`);
const nameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const valueFmt = `(${nameFmt})?`;
const valueRe = new RegExp(`^${valueFmt}$`);
const valueErrMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const dnsLabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dnsSubdomainFmt = `${dnsLabelFmt}(\\.${dnsLabelFmt})*`;
const dnsSubdomainRe = new RegExp(`^${dnsSubdomainFmt}$`);
const dnsSubdomainErrMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** validation.RegexError: the message, examples and the regex (the double space after each example is Kubernetes'). */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = msg + ' (e.g. ';
  examples.forEach((e, i) => { out += (i > 0 ? ' or ' : '') + `'${e}', `; });
  return out + `regex used for validation is '${fmt}')`;
}

const maxLenError = (n: number) => `must be no more than ${n} characters`;
const emptyError = () => 'must be non-empty';

function dnsSubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!dnsSubdomainRe.test(value)) errs.push(regexError(dnsSubdomainErrMsg, dnsSubdomainFmt, 'example.com'));
  return errs;
}

/** validation.IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters. */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part ' + emptyError());
    else errs.push(...dnsSubdomainErrors(prefix).map((m) => 'prefix part ' + m));
  } else {
    return ['a qualified name ' + regexError(nameErrMsg, nameFmt, 'MyName', 'my.name', '123-abc') +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part ' + emptyError());
  else if (name.length > 63) errs.push('name part ' + maxLenError(63));
  if (!nameRe.test(name)) errs.push('name part ' + regexError(nameErrMsg, nameFmt, 'MyName', 'my.name', '123-abc'));
  return errs;
}

/** validation.IsValidLabelValue: empty, or up to 63 alphanumerics, '-', '_' and '.' starting and ending alphanumeric. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!valueRe.test(value)) errs.push(regexError(valueErrMsg, valueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}
