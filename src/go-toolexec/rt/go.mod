module cti.dev/rt

go 1.21
