// The check layer in one include: histories, the common verdict, and every checker.
#pragma once

#include <faultline/check/exactly_once.hpp>
#include <faultline/check/history.hpp>
#include <faultline/check/history_formats.hpp>
#include <faultline/check/invariants.hpp>
#include <faultline/check/linearizability.hpp>
#include <faultline/check/result.hpp>
#include <faultline/check/transactions.hpp>
