import XCTest
import Tweedie
