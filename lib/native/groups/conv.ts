// Native functions of the conv kernel group (bindings/conv.cpp).
export interface ConvBinding {}
