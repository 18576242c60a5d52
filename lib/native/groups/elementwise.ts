// Native functions of the elementwise kernel group (bindings/elementwise.cpp).
export interface ElementwiseBinding {}
