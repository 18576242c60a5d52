// Native functions of the nn kernel group (bindings/nn.cpp).
export interface NnBinding {}
