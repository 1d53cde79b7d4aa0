"""C++ code generation for .proto files with Debian's protoc and gRPC plugin.

ember_proto_library(name, srcs, deps, grpc) makes `<name>` a cc_library with
the generated messages (and, with grpc = True, the service stubs). Imports are
resolved from the workspace root, so `proto/a.proto` may `import
"proto/b.proto"` when the target for b is in deps.
"""

def ember_proto_library(name, srcs, deps = [], grpc = False, visibility = None):
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    grpc_flags = ""
    if grpc:
        grpc_flags = ("--grpc_out=$(GENDIR) " +
                      "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin ")

    # Protos from other packages are passed as inputs so protoc can read them.
    proto_deps = [d + "_srcs" for d in deps]
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + proto_deps,
        visibility = visibility,
    )
    native.genrule(
        name = name + "_gen",
        srcs = srcs + proto_deps,
        outs = outs,
        cmd = ("/usr/bin/protoc -I. --cpp_out=$(GENDIR) " + grpc_flags +
               " ".join(["$(location %s)" % s for s in srcs])),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["//third_party:grpc" if grpc else "//third_party:protobuf"],
        visibility = visibility,
    )
