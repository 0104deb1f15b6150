"""Examples of the EPR side of IMB, runnable as they are."""
