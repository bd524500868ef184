// Turns a run-time op code into a compile-time template argument: BODY(OP) is expanded once per
// op, so kernels are specialized per op without a switch in their inner loops.
#pragma once
#include "kernelArgs.h"

#define MP_SWITCH_BINARY(op, BODY)                       \
  switch (op) {                                          \
    case BinaryOp::Add: BODY(BinaryOp::Add); break;      \
    case BinaryOp::Sub: BODY(BinaryOp::Sub); break;      \
    case BinaryOp::Mul: BODY(BinaryOp::Mul); break;      \
    case BinaryOp::Div: BODY(BinaryOp::Div); break;      \
    case BinaryOp::Pow: BODY(BinaryOp::Pow); break;      \
    case BinaryOp::Maximum: BODY(BinaryOp::Maximum); break; \
    case BinaryOp::Minimum: BODY(BinaryOp::Minimum); break; \
    case BinaryOp::ReluGrad: BODY(BinaryOp::ReluGrad); break; \
  }
#define MP_SWITCH_COMPARE(op, BODY)                  \
  switch (op) {                                      \
    case CompareOp::Eq: BODY(CompareOp::Eq); break;  \
    case CompareOp::Ne: BODY(CompareOp::Ne); break;  \
    case CompareOp::Lt: BODY(CompareOp::Lt); break;  \
    case CompareOp::Le: BODY(CompareOp::Le); break;  \
    case CompareOp::Gt: BODY(CompareOp::Gt); break;  \
    case CompareOp::Ge: BODY(CompareOp::Ge); break;  \
  }

