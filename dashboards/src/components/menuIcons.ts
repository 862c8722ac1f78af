// Icons the menu uses, imported one by one (no global registration of the whole icon set).
import {
  BellFilled, Calendar, CollectionTag, Connection, DataAnalysis, Document, Flag, HomeFilled, Message,
  OfficeBuilding, Phone, Search, Setting, Stamp, Tickets, User,
} from '@element-plus/icons-vue'
import type { Component } from 'vue'

export const menuIcons: Record<string, Component> = {
  BellFilled, Calendar, CollectionTag, Connection, DataAnalysis, Document, Flag, HomeFilled, Message,
  OfficeBuilding, Phone, Search, Setting, Stamp, Tickets, User,
}
