/**
 * Matches request paths against Azure Functions route templates the way the Functions host does for the
 * templates we use: literal segments (case-insensitive), `{name}` (one segment), `{name?}` (optional last
 * segment), `prefix{name}suffix` inside a segment, and a trailing catch-all `{*name}` (possibly empty).
 */
export interface CompiledRoute<T> {
  readonly value: T;
  match(pathname: string): Record<string, string> | null;
}

export function compileRoute<T>(template: string, value: T): CompiledRoute<T> {
  const names: string[] = [];
  const segments = template.split('/');
  let pattern = '^';
  segments.forEach((segment, index) => {
    const catchAll = /^\{\*([A-Za-z0-9_]+)\}$/.exec(segment);
    if (catchAll) {
      if (index !== segments.length - 1) throw new TypeError(`Catch-all must be last in "${template}"`);
      names.push(catchAll[1]!);
      pattern += '(?:/(.*))?';
      return;
    }
    const optional = /^\{([A-Za-z0-9_]+)\?\}$/.exec(segment);
    if (optional) {
      names.push(optional[1]!);
      pattern += '(?:/([^/]+))?';
      return;
    }
    let part = '';
    let rest = segment;
    for (let found = /\{([A-Za-z0-9_]+)(?::[^}]*)?\}/.exec(rest); found; found = /\{([A-Za-z0-9_]+)(?::[^}]*)?\}/.exec(rest)) {
      part += escape(rest.slice(0, found.index)) + '([^/]+?)';
      names.push(found[1]!);
      rest = rest.slice(found.index + found[0].length);
    }
    part += escape(rest);
    pattern += (index === 0 ? '' : '/') + part;
  });
  const regex = new RegExp(`${pattern}/?$`, 'i');
  return {
    value,
    match(pathname) {
      const found = regex.exec(pathname.replace(/^\//, ''));
      if (!found) return null;
      const params: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) {
        const raw = found[i + 1];
        if (raw === undefined || raw === '') continue;
        try {
          params[names[i]!] = decodeURIComponent(raw);
        } catch {
          return null;
        }
      }
      return params;
    },
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
