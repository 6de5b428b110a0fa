/**
 * What the Bicep compiler would catch first, checked without it (it downloads a binary): every module gets the
 * parameters it declares, outputs that are used exist, parameters are used, main.parameters.json and azure.yaml
 * match main.bicep.
 */
import fs from 'node:fs';
import path from 'node:path';
import { INFRA_DIR, modules, outputs, params, parseFile, readInfra, type BicepFile } from './bicepText';

const infra = new Map([...readInfra()].map(([name, text]) => [name, parseFile(name, text)]));
const main = infra.get('main.bicep') as BicepFile;

describe('infra/ hangs together', () => {
  test('main.bicep and every module exist', () => {
    expect(main).toBeDefined();
    for (const module of modules(main)) expect({ module: module.path, exists: infra.has(module.path) }).toEqual({ module: module.path, exists: true });
  });

  test.each(modules(main).map((module) => [module.symbol, module] as const))('module %s gets exactly the parameters it declares', (_symbol, module) => {
    const file = infra.get(module.path) as BicepFile;
    const declared = params(file);
    const passed = [...module.params.keys()];
    const unknown = passed.filter((name) => !declared.some((param) => param.name === name));
    const missing = declared.filter((param) => param.defaultValue === null && !passed.includes(param.name)).map((param) => param.name);
    expect({ unknown, missing }).toEqual({ unknown: [], missing: [] });
  });

  test('every <module>.outputs.<name> that main.bicep uses is an output of that module', () => {
    const bySymbol = new Map(modules(main).map((module) => [module.symbol, outputs(infra.get(module.path) as BicepFile)]));
    const used = [...main.clean.matchAll(/\b(\w+)\.outputs\.(\w+)/g)].map((match) => ({ module: match[1] ?? '', output: match[2] ?? '' }));
    expect(used.length).toBeGreaterThan(0);
    for (const { module, output } of used) {
      expect({ module, output, exists: bySymbol.get(module)?.has(output) ?? false }).toEqual({ module, output, exists: true });
    }
  });

  test('every parameter is used in its file', () => {
    for (const file of infra.values()) {
      for (const param of params(file)) {
        const uses = file.code.match(new RegExp(`\\b${param.name}\\b`, 'g'))?.length ?? 0;
        const inStrings = file.clean.match(new RegExp(`\\$\\{[^}]*\\b${param.name}\\b[^}]*\\}`, 'g'))?.length ?? 0;
        expect({ file: file.name, param: param.name, used: uses + inStrings > 1 }).toEqual({ file: file.name, param: param.name, used: true });
      }
    }
  });

  test('main.parameters.json passes only parameters main.bicep declares, and every required one', () => {
    const json = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
    const declared = params(main);
    const passed = Object.keys(json.parameters);
    expect(passed.filter((name) => !declared.some((param) => param.name === name))).toEqual([]);
    expect(declared.filter((param) => param.defaultValue === null && !passed.includes(param.name)).map((param) => param.name)).toEqual([]);
    // Parameters that hold secrets come from the azd environment, never a value written in the file.
    for (const param of declared.filter((candidate) => candidate.decorators.includes('@secure()'))) {
      const value = (json.parameters[param.name] as { value?: unknown } | undefined)?.value;
      if (value !== undefined) expect(value).toMatch(/^\$\{[A-Z_]+\}$/);
    }
  });

  test('azure.yaml deploys service "api" as a function to the app tagged azd-service-name: api', () => {
    const yaml = fs.readFileSync(path.join(INFRA_DIR, '..', 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/^services:\n {2}api:\n(?: {4}.*\n|\s*#.*\n)*? {4}host: function$/m);
    expect(yaml).toMatch(/^ {2}provider: bicep$/m);
    expect(yaml).toMatch(/^ {2}path: infra$/m);
    const functionApp = infra.get('modules/functionApp.bicep') as BicepFile;
    expect(functionApp.clean).toMatch(/'azd-service-name': 'api'/);
  });

  test('the deployment package leaves out local dependencies, data and infrastructure', () => {
    const ignored = fs.readFileSync(path.join(INFRA_DIR, '..', '.funcignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules/', '.data/', '.azure/', 'test/', 'infra/', 'local.settings.json']) expect(ignored).toContain(entry);
    // The app needs these at run time or to build remotely.
    for (const entry of ['host.json', 'package.json', 'dist/', 'lib/', 'functions/', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored).not.toContain(entry);
    }
  });
});
