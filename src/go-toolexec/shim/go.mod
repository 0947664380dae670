module cti.dev/shim

go 1.21
