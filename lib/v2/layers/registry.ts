// Layer classes by name, for load(): each entry rebuilds a layer from its get_config().
import { ArgError, RavdlError } from '../../errors.js';
import type { Layer } from './layer.js';

export type LayerFactory = (config: Record<string, any>) => Layer;
// A Map: class names come from model.json and must never hit Object's properties.
const factories = new Map<string, LayerFactory>();

/** Makes `name` (a layer_name()) loadable; every built-in layer registers itself in its index. */
export function registerLayer(name: string, factory: LayerFactory): void {
  if (typeof name !== 'string' || name === '') throw new ArgError(`registerLayer: name must be a non-empty string, got ${String(name)}`);
  if (typeof factory !== 'function') throw new ArgError(`registerLayer: factory must be a function (config) => Layer`);
  factories.set(name, factory);
}

/** A layer rebuilt from its class name and config (both from a file: checked, never trusted). */
export function layerFromConfig(name: string, config: Record<string, any>): Layer {
  const f = typeof name === 'string' ? factories.get(name) : undefined;
  if (!f) throw new ArgError(`load: unknown layer class ${typeof name === 'string' ? `'${name}'` : String(name)} (known: ${[...factories.keys()].join(', ')}; register custom ones with registerLayer)`);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ArgError(`load: the config of a ${name} layer must be an object, got ${JSON.stringify(config)}`);
  try {
    return f(config);
  } catch (e) {
    // A config missing a field can make a factory throw a TypeError: report it as what it is.
    if (e instanceof RavdlError) throw e;
    throw new ArgError(`load: cannot rebuild a ${name} layer from config ${JSON.stringify(config).slice(0, 200)} (${(e as Error).message})`, { cause: e });
  }
}
