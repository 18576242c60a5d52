// Native functions of the matmul kernel group (bindings/matmul.cpp).
export interface MatmulBinding {}
