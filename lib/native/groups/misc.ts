// Native functions of the misc kernel group (bindings/misc.cpp).
export interface MiscBinding {}
