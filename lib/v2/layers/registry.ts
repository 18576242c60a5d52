// Layer classes by name, for load(): each entry rebuilds a layer from its get_config().
import { ArgError } from '../../errors.js';
import type { Layer } from './layer.js';

export type LayerFactory = (config: Record<string, any>) => Layer;
const factories = new Map<string, LayerFactory>();

/** Makes `name` (a layer_name()) loadable; every built-in layer registers itself in its index. */
export function registerLayer(name: string, factory: LayerFactory): void {
  factories.set(name, factory);
}

export function layerFromConfig(name: string, config: Record<string, any>): Layer {
  const f = factories.get(name);
  if (!f) throw new ArgError(`load: unknown layer class '${name}' (known: ${[...factories.keys()].join(', ')}; register custom ones with registerLayer)`);
  return f(config);
}
